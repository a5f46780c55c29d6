import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import MalformedRequest
from shopprivacy.web import Request, Response
from shopprivacy.web.http import (
    MAX_FORM_FIELDS,
    MAX_HEADER_CHARS,
    MAX_HEADERS,
    MAX_JSON_DEPTH,
    http_url,
    origin_of,
    same_origin,
    same_origin_url,
)


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


@given(st.one_of(st.binary(max_size=500), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))),
       st.one_of(st.text(max_size=60), st.sampled_from(["application/x-www-form-urlencoded", "application/json"])))
def test_body_parsers_return_a_value_or_a_malformed_request(body, ctype):
    req = Request("POST", "/", headers={"Content-Type": ctype}, body=body)
    try:
        assert isinstance(req.form(), dict)
    except MalformedRequest as exc:
        assert exc.status == 400 and req.content_type == "application/x-www-form-urlencoded"
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


# -- bounds: every parser returns a value or raises MalformedRequest, nothing else ----------------------------
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_form_with_more_fields_than_allowed_is_a_400_not_a_crash():
    ok = "&".join(f"f{i}=1" for i in range(MAX_FORM_FIELDS)).encode()
    assert len(Request("POST", "/", headers=FORM, body=ok).form()) == MAX_FORM_FIELDS
    with pytest.raises(MalformedRequest, match="more than 100 fields") as caught:
        Request("POST", "/", headers=FORM, body=ok + b"&one=more").form()
    assert caught.value.status == 400


@pytest.mark.parametrize("body", [b"a=%ff", b"a=\xff", b"a%00=1", b"a=1%00"])
def test_a_form_that_is_not_utf8_or_holds_nul_is_refused(body):
    with pytest.raises(MalformedRequest):
        Request("POST", "/", headers=FORM, body=body).form()


def test_a_form_larger_than_its_bound_is_a_413():
    with pytest.raises(MalformedRequest) as caught:
        Request("POST", "/", headers=FORM, body=b"a=" + b"x" * 100).form(max_bytes=50)
    assert caught.value.status == 413


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
                                  b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)])
def test_deeply_nested_json_is_unusable_not_a_recursion_error(body):
    assert Request("POST", "/", body=body).json() is None
    fine = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert Request("POST", "/", body=fine).json() is not None


@pytest.mark.parametrize("body", [b'{"page": "https://x/\\ud800"}', b'{"\\udfff": 1}', b'["a", ["\\ud83d"]]',
                                  b"NaN", b'{"a": Infinity}', b'\xef\xbb\xbf{"a": 1}'])
def test_json_that_no_field_could_hold_is_unusable(body):
    assert Request("POST", "/", body=body).json() is None


def test_json_with_paired_surrogates_and_nul_parses():
    assert Request("POST", "/", body=b'{"e": "\\ud83d\\ude00", "n": "a\\u0000"}').json() == {"e": "😀", "n": "a\x00"}


def test_headers_outside_http_bounds_are_refused():
    Request("GET", "/", headers={"User-Agent": "Mozilla/5.0\t(X11)", "X-Latin": "café"}).check()
    for headers, status in (({"Referer": "https://shop.example/\r\nX: y"}, 400), ({"User-Agent": "a\x00b"}, 400),
                            ({"User-Agent": "\ud800"}, 400), ({"X-Big": "x" * MAX_HEADER_CHARS}, 431),
                            ({f"X-{i}": "1" for i in range(MAX_HEADERS + 1)}, 431)):
        with pytest.raises(MalformedRequest) as caught:
            Request("GET", "/", headers=headers).check()
        assert caught.value.status == status
    with pytest.raises(MalformedRequest) as caught:
        Request("POST", "/", body=b"x" * 11).check(max_body=10)
    assert caught.value.status == 413


@given(st.text(max_size=120))
def test_http_url_is_total_and_accepts_printable_http_urls_only(text):
    parts = http_url(text)
    if parts is not None:
        assert parts.scheme.lower() in ("http", "https") and parts.hostname and text.isascii() and " " not in text


@pytest.mark.parametrize("url", ["http://[::1", "https://shop.example:99999/", "https://shop.example:x/",
                                 "https://user@shop.example/", "https://shop.example\\@evil.example/",
                                 "javascript:alert(1)", "//shop.example/x", "https:///x", "https://shop.example/ x",
                                 "https://shop.example/\x00", "https://shop.example/\ud800", "h" * 3000])
def test_malformed_urls_are_none(url):
    assert http_url(url) is None and origin_of(url) is None and same_origin_url(url, BASE) is None


def test_same_origin_url_keeps_only_the_shops_own_pages():
    assert same_origin_url("https://shop.example/products?page=2#top", BASE) == "https://shop.example/products?page=2"
    assert same_origin_url("HTTPS://SHOP.EXAMPLE:443", BASE) == "https://shop.example/"
    for foreign in ("https://evil.example/", "http://shop.example/", "https://shop.example:8443/",
                    "https://shop.example.evil.example/", "https://shop.example@evil.example/"):
        assert same_origin_url(foreign, BASE) is None
    assert same_origin_url("http://[::1]:8000/a", "http://[::1]:8000") == "http://[::1]:8000/a"
