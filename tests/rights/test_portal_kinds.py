"""The portal offers restriction, objection and opt-out of sale in every language; its forms open requests of
those kinds; any body sent to them is answered without a 500 (hypothesis)."""

from __future__ import annotations

from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from shopprivacy.i18n import catalog
from shopprivacy.rights.pages import PACKAGE, SIMPLE_KINDS
from shopprivacy.testing import respond
from shopprivacy.web import Request

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://shop.example"}
LOCALES = ("en", "fr", "de", "es", "it", "nl", "ar")


def test_every_language_offers_the_new_kinds(sp):
    for lang in LOCALES:
        t = catalog(PACKAGE, lang)
        html = sp.rights_web.portal(Request("GET", "/privacy/rights", query={"lang": lang})).body.decode()
        for kind in SIMPLE_KINDS:
            assert f'name="action" value="{kind}"' in html
            for key in (f"{kind}_legend", f"{kind}_text", f"{kind}_button"):
                assert escape(t[key]) in html, (lang, key)
            if lang != "en":  # translated, not the English text
                assert t[f"{kind}_legend"] != catalog(PACKAGE, "en")[f"{kind}_legend"]
        assert html.count('id="sp-restrict-email"') == 1  # one id per form and field


def test_a_portal_form_opens_a_request_of_its_kind_and_the_link_names_it(sp):
    for kind in SIMPLE_KINDS:
        body = f"action={kind}&email=jane%40example.com".encode()
        resp = sp.rights_web.portal(Request("POST", "/privacy/rights", headers=FORM, body=body,
                                            remote_addr="203.0.113.7"))
        assert resp.status == 200
    opened = {r.kind: r for r in sp.rights.find(state="received")}
    assert set(SIMPLE_KINDS) <= set(opened)
    assert all(not r.verified for r in opened.values())  # the same verification as every request


@settings(max_examples=120)
@given(kind=st.sampled_from(SIMPLE_KINDS), email=st.text(max_size=80),
       extra=st.dictionaries(st.sampled_from(["changes", "first_name", "new_email", "customer_id"]),
                             st.text(max_size=20), max_size=2),
       lang=st.one_of(st.none(), st.sampled_from(LOCALES), st.text(max_size=12)))
def test_any_body_to_the_new_kinds_is_answered_without_a_500(sp, kind, email, extra, lang):
    fields = {"action": kind, "email": email, **extra}
    body = "&".join(f"{k}={v}" for k, v in fields.items()).encode("utf-8", "surrogatepass")
    resp = respond(sp, Request("POST", "/privacy/rights", query={} if lang is None else {"lang": lang},
                               headers=FORM, body=body, remote_addr="203.0.113.9"))
    assert resp.status in (200, 400, 429) and b"<script>" not in resp.body
