"""What every SDK endpoint shares (shopprivacy.web.serving): while the database is unavailable a 503 with
``Retry-After`` (a short page in the visitor's language, or JSON), never a 500 or a partial write."""

import json

import pytest

from shopprivacy import ShopPrivacy
from shopprivacy.i18n import available_locales
from shopprivacy.web import Request

from ..outages import database_outage

BASE = "https://shop.example"


def routes(sp):
    return {r.name: r.handler for r in sp.web_routes()}


def assert_503(resp, retry_after="30"):
    assert resp.status == 503
    assert resp.headers["Retry-After"] == retry_after and resp.headers["Cache-Control"] == "no-store"


def test_endpoints_answer_503_with_retry_after_while_the_database_goes_away(sp):
    url = sp.email.unsubscribe_url("jane@example.com", "newsletter")
    token = url.split("?t=", 1)[1]
    handlers = routes(sp)
    with database_outage(sp.store.engine):
        one_click = handlers["email.unsubscribe"](Request(
            "POST", "/privacy/unsubscribe", query={"t": token}, body=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "fr-CH, fr;q=0.9"}))
        beacon = handlers["consent.record"](Request(
            "POST", "/privacy/consent",
            body=json.dumps({"method": "reject_all", "version": sp.consent.policy.version}).encode(),
            headers={"Content-Type": "application/json"}))
        portal = handlers["rights.portal"](Request(
            "POST", "/privacy/rights", body=b"action=export&email=jane%40example.com",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": BASE, "Accept-Language": "ar",
                     "X-CSP-Nonce": "n0nce"}))
    assert_503(one_click)
    page = one_click.body.decode()
    assert "Temporairement indisponible" in page and 'lang="fr"' in page and "Traceback" not in page
    assert_503(beacon)
    assert beacon.headers["Content-Type"] == "application/json"
    assert json.loads(beacon.body) == {"error": "unavailable", "retry_after": 30}
    assert_503(portal)
    assert 'dir="rtl"' in portal.body.decode() and '<style nonce="n0nce">' in portal.body.decode()
    # nothing was half written, and the same link works once the database is back
    assert not sp.email.is_suppressed("jane@example.com", "newsletter")
    again = handlers["email.unsubscribe"](Request(
        "POST", "/privacy/unsubscribe", query={"t": token}, body=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"}))
    assert again.status == 200 and sp.email.is_suppressed("jane@example.com", "newsletter")


def test_an_unreachable_database_is_a_503_on_reads_too(tmp_path, settings, sp):
    token = sp.email.preferences_url("jane@example.com").split("?t=", 1)[1]
    (tmp_path / "a-file").write_text("not a folder")
    down = ShopPrivacy(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/a-file/sp.db",
                                                   "web": settings.web.model_copy(
                                                       update={"retry_after_seconds": 120})}))
    handlers = routes(down)
    resp = handlers["email.preferences"](Request("GET", "/privacy/email/preferences", query={"t": token},
                                                 headers={"Accept": "text/html,*/*", "Accept-Language": "de"}))
    assert_503(resp, "120")
    assert "Vorübergehend nicht verfügbar" in resp.body.decode()
    resp = handlers["email.preferences"](Request("GET", "/privacy/email/preferences", query={"t": token},
                                                 headers={"Accept": "application/json"}))
    assert_503(resp, "120")
    assert json.loads(resp.body)["error"] == "unavailable"
    resp = handlers["rights.portal"](Request(
        "POST", "/privacy/rights", body=b"action=erase&email=jane%40example.com",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": BASE}))
    assert_503(resp, "120")
    assert "Temporarily unavailable" in resp.body.decode()
    assert handlers["consent.gpc"](Request("GET", "/.well-known/gpc.json")).status == 200  # needs no database
    down.close()


@pytest.mark.parametrize("locale", sorted(available_locales("shopprivacy.web")))
def test_the_unavailable_page_is_translated(sp, locale):
    from shopprivacy.web.i18n import catalog

    texts = catalog("shopprivacy.web", locale)
    assert set(texts) == {"unavailable_title", "unavailable"}
    assert locale == "en" or texts != catalog("shopprivacy.web", "en")


@pytest.mark.parametrize(("header", "lang"), [
    ("fr;q=0.2, nl;q=0.8, de;q=0.5", "nl"),  # the highest weight, not the first
    ("de;q=0, ar", "ar"),  # q=0 excludes German
    ("tlh, it;q=0.5, es;q=0.5", "it"),  # tlh: a tag no catalog ships  # equal weights: the header's order
])
def test_pages_follow_accept_language_weights(sp, header, lang):
    from shopprivacy.web.i18n import catalog
    from shopprivacy.web.serving import Serving

    resp = Serving(sp.settings.web).unavailable(Request("GET", "/privacy/rights", headers={"Accept-Language": header}))
    html = resp.body.decode()
    assert resp.status == 503 and f'<html lang="{lang}"' in html
    assert catalog("shopprivacy.web", lang)["unavailable"] in html
    assert ('dir="rtl"' in html) == (lang == "ar")
