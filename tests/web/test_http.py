from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.web import Request, Response
from shopprivacy.web.http import same_origin


def test_headers_are_case_insensitive_and_forms_parse():
    req = Request("post", "/x", headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                  body=b"List-Unsubscribe=One-Click&a=1&a=2")
    assert req.method == "POST" and req.header("content-type").startswith("application/x-www")
    assert req.form() == {"List-Unsubscribe": "One-Click", "a": "1"}
    assert Request("POST", "/", headers={"content-type": "text/plain"}, body=b"a=1").form() == {}
    assert Request("POST", "/", body=b'{"a": 1}').json() == {"a": 1}
    assert Request("POST", "/", body=b"{nope").json() is None


def test_responses():
    r = Response.html("<p>x</p>", status=400)
    assert r.status == 400 and r.headers["Content-Type"].startswith("text/html") and r.body == b"<p>x</p>"
    assert Response.json({"gpc": True}).body == b'{"gpc":true}'
    assert Response.redirect("/a").headers["Location"] == "/a"
    assert Response.text("ok").headers["Cache-Control"] == "no-store"


@given(st.binary(max_size=500), st.text(max_size=60))
def test_body_parsers_never_raise(body, ctype):
    req = Request("POST", "/", headers={"Content-Type": ctype}, body=body)
    assert isinstance(req.form(), dict)
    req.json()


BASE = "https://shop.example"


def test_same_origin_accepts_the_shops_own_pages_only():
    def post(**headers: str) -> bool:
        return same_origin(Request("POST", "/privacy/rights", headers=headers), BASE)

    assert post(Origin=BASE) and not post(Origin="https://evil.example")
    # a form on a Referrer-Policy: no-referrer page or in a sandboxed frame sends "Origin: null": Sec-Fetch-Site decides
    assert post(Origin="null", **{"Sec-Fetch-Site": "same-origin"})
    assert not post(Origin="null", **{"Sec-Fetch-Site": "cross-site"})
    assert not post(Origin="null")  # nothing vouches for an opaque origin
    assert not post(Origin="null", Referer=BASE + "/privacy/rights")
    assert post(Referer=BASE + "/privacy/rights") and not post(Referer="https://shop.example.evil/")
    assert not post()
    # the configured URL is compared as browsers serialise an origin: lower case, no default port
    assert same_origin(Request("POST", "/", headers={"Origin": "https://shop.example"}), "https://Shop.Example:443/")
    assert not same_origin(Request("POST", "/", headers={"Origin": "https://shop.example"}), "https://shop.example:8443")
    # the SDK's own pages keep tokens in their URL out of the Referer, yet their forms carry a real Origin
    assert Response.html("<p>x</p>").headers["Referrer-Policy"] == "strict-origin"


@given(st.text(max_size=80), st.text(max_size=30), st.text(max_size=80))
def test_same_origin_never_raises_and_never_accepts_a_foreign_origin(origin, site, referer):
    ok = same_origin(Request("POST", "/", headers={"Origin": origin, "Sec-Fetch-Site": site, "Referer": referer}),
                     BASE)
    if origin and origin not in ("null", BASE):
        assert not ok
