"""CrossOrigin: which requests are cross-origin, and CORS granted to the listed origins only."""

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from shopprivacy.web import Request, Response
from shopprivacy.web.cors import CrossOrigin

LISTED = "https://store.example"
POLICY = CrossOrigin("https://shop.example/", [LISTED], methods=("POST",))


def req(method="POST", **headers):
    return Request(method, "/privacy/consent", headers=headers)


def test_verdicts():
    assert POLICY.verdict(req()) == "direct"
    assert POLICY.verdict(req(Origin="https://shop.example")) == "same"
    assert POLICY.verdict(req(Origin="HTTPS://SHOP.EXAMPLE")) == "same"
    assert POLICY.verdict(req(Origin=LISTED)) == "allowed"
    assert POLICY.verdict(req(Origin="https://proxied.example", **{"Sec-Fetch-Site": "same-origin"})) == "same"
    for origin, site in (("https://evil.example", None), ("https://evil.example", "cross-site"),
                         ("https://evil.example", "same-site"), ("null", "same-origin"), ("null", None),
                         ("https://store.example:444", None), ("http://store.example", None)):
        headers = {"Origin": origin, **({"Sec-Fetch-Site": site} if site else {})}
        assert POLICY.verdict(req(**headers)) == "refused", headers


def test_preflight_grants_the_listed_origin_its_methods_only():
    ok = POLICY.preflight(req("OPTIONS", Origin=LISTED, **{"Access-Control-Request-Method": "POST"}))
    assert ok.status == 204 and ok.headers["Access-Control-Allow-Origin"] == LISTED
    assert ok.headers["Access-Control-Allow-Methods"] == "POST" and ok.headers["Vary"] == "Origin"
    put = POLICY.preflight(req("OPTIONS", Origin=LISTED, **{"Access-Control-Request-Method": "PUT"}))
    assert put.status == 403 and "Access-Control-Allow-Methods" not in put.headers


def test_decorate_keeps_an_existing_vary():
    resp = POLICY.decorate(Response(200, b"", {"Vary": "Accept-Language"}), req(Origin=LISTED))
    assert resp.headers["Vary"] == "Accept-Language, Origin"
    assert POLICY.decorate(Response(200, b"", {"Vary": "origin"}), req()).headers["Vary"] == "origin"


HEADER_TEXT = st.one_of(st.text(max_size=40), st.sampled_from([LISTED, LISTED.upper(), LISTED + "/", " " + LISTED,
                                                               "null", "https://shop.example", ""]))


@hsettings(max_examples=300)
@given(origin=st.none() | HEADER_TEXT, site=st.none() | st.sampled_from(["same-origin", "cross-site", "none", "x"]),
       wanted=st.none() | HEADER_TEXT, method=st.sampled_from(["OPTIONS", "POST", "GET"]))
def test_cors_is_granted_to_the_listed_origin_and_nothing_else(origin, site, wanted, method):
    headers = {k: v for k, v in {"Origin": origin, "Sec-Fetch-Site": site,
                                 "Access-Control-Request-Method": wanted}.items() if v is not None}
    request = req(method, **headers)
    verdict = POLICY.verdict(request)
    resp = POLICY.preflight(request) if method == "OPTIONS" else POLICY.decorate(Response(200), request)
    granted = resp.headers.get("Access-Control-Allow-Origin")
    assert granted in (None, LISTED)
    assert (granted == LISTED) == (verdict == "allowed") and "Origin" in resp.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in resp.headers
    if verdict == "refused" and method == "OPTIONS":
        assert resp.status == 403
