"""Hypothesis: tokens and portal form bodies never cause a 500 and never an exception out of a handler; order
ids a platform names either parse or are refused."""

from hypothesis import given, settings
from hypothesis import strategies as st

from shopprivacy.testing import respond
from shopprivacy.web import Request

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://shop.example"}
tokens = st.one_of(st.text(max_size=300), st.from_regex(r"[A-Za-z0-9_.\-]{0,200}", fullmatch=True),
                   st.text(alphabet="\x00\ud7ff\ufffe.é", max_size=20))


@settings(max_examples=150)
@given(token=tokens, method=st.sampled_from(["GET", "POST"]))
def test_any_token_gives_a_4xx_page(sp, token, method):
    for handler, path in ((sp.rights_web.verify, "/privacy/rights/verify"),
                          (sp.rights_web.verify_new, "/privacy/rights/verify-new"),
                          (sp.rights_web.download, "/privacy/rights/download")):
        resp = handler(Request(method, path, query={"t": token}))
        assert 400 <= resp.status < 500 and b"<script" not in resp.body


@settings(max_examples=150)
@given(body=st.one_of(st.binary(max_size=400), st.builds(
    lambda a, e, n: f"action={a}&email={e}&new_email={n}&first_name={n}".encode("utf-8", "surrogatepass"),
    st.sampled_from(["export", "erase", "rectify", "preferences", "", "drop"]),
    st.text(max_size=80), st.text(max_size=80))),
    lang=st.one_of(st.none(), st.text(max_size=40)))
def test_any_portal_body_is_answered_without_a_500(sp, body, lang):
    query = {} if lang is None else {"lang": lang}
    resp = respond(sp, Request("POST", "/privacy/rights", query=query, headers=FORM, body=body,
                               remote_addr="203.0.113.5"))
    assert resp.status in (200, 400, 429)


def test_portal_get_is_localized_and_has_no_inline_script(sp):
    for lang, word in (("fr", "Vos données"), ("ar", 'dir="rtl"'), ("de", "Ihre Daten"), ("nl", "Uw privacy"),
                       ("es", "Tu privacidad"), ("it", "La tua privacy"), ("en", "Your privacy")):
        resp = sp.rights_web.portal(Request("GET", "/privacy/rights", query={"lang": lang},
                                            headers={"X-CSP-Nonce": "abc"}))
        html = resp.body.decode()
        assert resp.status == 200 and word in html and "data-sp-consent-open" in html
        assert "<script>" not in html and all('src="' in tag for tag in html.split("<script")[1:])


def test_cross_site_portal_posts_are_refused(sp):
    resp = sp.rights_web.portal(Request("POST", "/privacy/rights", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"},
        body=b"action=erase&email=jane%40example.com"))
    assert resp.status == 403


def test_routes_are_mounted(sp):
    paths = {r.full_path("/privacy") for r in sp.web_routes()}
    assert {"/privacy/rights", "/privacy/rights/verify", "/privacy/rights/verify-new",
            "/privacy/rights/download"} <= paths


@given(orders=st.one_of(st.lists(st.one_of(st.text(max_size=210), st.integers(), st.none(), st.booleans()),
                                 max_size=20),
                        st.text(max_size=20), st.integers(), st.none(), st.dictionaries(st.text(), st.text())))
def test_order_ids_parse_or_are_refused(orders):
    from shopprivacy.errors import InvalidInput
    from shopprivacy.rights.model import parse_orders
    try:
        out = parse_orders(orders)
    except InvalidInput:
        return
    assert isinstance(out, tuple) and len(out) == len(set(out))
    assert all(isinstance(o, str) and 0 < len(o) <= 200 and o.isprintable() and o == o.strip() for o in out)
