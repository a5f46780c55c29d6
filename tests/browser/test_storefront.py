"""The banner embedded by a script tag alone on a storefront of another origin (``127.0.0.2``) than the backend
(``127.0.0.1``), in real Chromium: one proof row per choice, the consent cookie on the storefront's origin, no
re-ask after reload, gated tags, withdrawal and GPC as on the backend's own pages; an origin not listed in
``consent.allowed_origins`` records nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shopprivacy.consent.settings import ConsentSettings
from shopprivacy.consent.tables import consent_records

from .conftest import wait_until
from .storefront import Storefront

REPO = Path(__file__).resolve().parents[2]
EVENTS = """window.__events = [];
document.addEventListener('shopprivacy:consent', function (e) { window.__events.push(e.detail); });"""
GPC_ON = "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"


@pytest.fixture
def storefront(make_shop):
    """A listed storefront on 127.0.0.2 and its backend on 127.0.0.1."""
    front = Storefront("127.0.0.2")
    shop = make_shop(consent=ConsentSettings(allowed_origins=[front.origin]))
    front.backend = shop.base + "/privacy"
    front.start()
    yield front, shop
    front.stop()


def rows(shop) -> int:
    with shop.sp.store.begin(write=False) as conn:
        return conn.execute(select(func.count()).select_from(consent_records)).scalar_one()


def front_cookie(context, front) -> str | None:
    return next((c["value"] for c in context.cookies(front.origin) if c["name"] == "sp_consent"), None)


def backend_cookie(context, shop) -> str | None:
    return next((c["value"] for c in context.cookies(shop.base) if c["name"] == "sp_consent"), None)


def history(shop, context, front, **headers):
    state = shop.sp.consent.state({"sp_consent": front_cookie(context, front)}, headers)
    return state, shop.sp.consent.export(state.consent_id)


def choose(page, front, selector):
    """Click ``selector`` in the banner and wait until the banner has written the cookie it was sent back."""
    before = page.evaluate("document.cookie")
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent") and r.request.method == "POST") as resp:
        page.click(selector)
    assert resp.value.status == 200
    wait_until(page, f"document.cookie.indexOf('sp_consent=') >= 0 && document.cookie !== {before!r}")


def test_one_choice_is_one_proof_row_and_a_first_party_cookie_without_reasking(new_context, storefront):
    front, shop = storefront
    context = new_context(reduced_motion="reduce")
    context.add_init_script(EVENTS)
    page = context.new_page()
    page.goto(front.origin + "/?lang=fr")
    page.wait_for_selector(".sp-cc")
    assert page.locator(".sp-cc").get_attribute("lang") == "fr"  # the page's language, from the backend
    assert page.evaluate("window.__inlineRan") is None and sum(front.hits.values()) == 0
    assert page.evaluate("window.shopprivacyConsent.allows('analytics')") is False

    page.click(".sp-cc-customize")
    page.check("input[data-cat='analytics']")
    choose(page, front, ".sp-cc-save")
    assert rows(shop) == 1
    assert front_cookie(context, front) is not None
    assert backend_cookie(context, shop) is None  # the cross-origin answer's Set-Cookie is not the one used
    wait_until(page, "window.__inlineRan === true")
    assert front.hits["/track/analytics.js"] == 1 and front.hits["/track/marketing.js"] == 0
    assert page.evaluate("window.__events") == [{"granted": ["analytics"], "gpc": False}]

    page.reload()
    page.wait_for_selector(".sp-cc-open")
    wait_until(page, "window.__inlineRan === true")
    assert page.locator(".sp-cc").count() == 0  # not asked again
    assert page.evaluate("window.shopprivacyConsent.granted()") == ["analytics"]
    assert front.hits["/track/analytics.js"] == 2 and rows(shop) == 1

    state, proof = history(shop, context, front)
    assert state.allows("analytics") and not state.allows("marketing")
    assert [(r["method"], r["granted"], r["page_url"]) for r in proof] == [
        ("custom", ["analytics"], front.origin + "/")]


def test_withdrawal_is_tied_to_the_same_consent_id(new_context, storefront):
    front, shop = storefront
    context = new_context(reduced_motion="reduce")
    page = context.new_page()
    page.goto(front.origin + "/")
    page.wait_for_selector(".sp-cc")
    choose(page, front, ".sp-cc-accept")
    first, _ = history(shop, context, front)
    assert first.allows("marketing")

    page.reload()
    page.click(".sp-cc-open")
    page.uncheck("input[data-cat='marketing']")
    choose(page, front, ".sp-cc-save")
    state, proof = history(shop, context, front)
    assert state.consent_id == first.consent_id and not state.allows("marketing") and state.allows("analytics")
    assert [r["method"] for r in proof] == ["accept_all", "withdraw"]
    assert "marketing" not in proof[1]["granted"] and rows(shop) == 2

    page.reload()
    page.click(".sp-cc-open")
    choose(page, front, ".sp-cc-reject")
    state, proof = history(shop, context, front)
    assert state.consent_id == first.consent_id and state.granted == frozenset()
    assert [r["method"] for r in proof] == ["accept_all", "withdraw", "withdraw"]


def test_gpc_is_honoured_across_origins(new_context, storefront):
    front, shop = storefront
    context = new_context(reduced_motion="reduce", extra_http_headers={"Sec-GPC": "1"})
    context.add_init_script(GPC_ON)
    page = context.new_page()
    page.goto(front.origin + "/")
    page.wait_for_selector(".sp-cc")
    assert page.locator(".sp-cc-gpc").is_visible()
    choose(page, front, ".sp-cc-accept")
    state, proof = history(shop, context, front, **{"Sec-GPC": "1"})
    assert proof[0]["gpc"] is True and proof[0]["method"] == "accept_all"
    assert "marketing" not in proof[0]["granted"] and "sale_of_data" not in proof[0]["granted"]
    assert state.allows("analytics") and not state.allows("marketing")
    page.reload()
    page.wait_for_selector(".sp-cc-open")
    assert front.hits["/track/marketing.js"] == 0 and rows(shop) == 1


def test_gpc_over_an_earlier_grant_is_recorded_once_under_the_same_id(new_context, storefront):
    front, shop = storefront
    plain = new_context(reduced_motion="reduce")
    page = plain.new_page()
    page.goto(front.origin + "/")
    page.wait_for_selector(".sp-cc")
    choose(page, front, ".sp-cc-accept")
    cookie = next(c for c in plain.cookies(front.origin) if c["name"] == "sp_consent")
    first, _ = history(shop, plain, front)

    gpc = new_context(reduced_motion="reduce", extra_http_headers={"Sec-GPC": "1"})
    gpc.add_init_script(GPC_ON)
    gpc.add_cookies([cookie])
    page = gpc.new_page()
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent") and r.request.method == "POST"):
        page.goto(front.origin + "/")
    wait_until(page, f"document.cookie !== {'sp_consent=' + cookie['value']!r}")
    state, proof = history(shop, gpc, front, **{"Sec-GPC": "1"})
    assert state.consent_id == first.consent_id
    assert [r["method"] for r in proof] == ["accept_all", "gpc"] and proof[1]["gpc"] is True
    page.reload()
    page.wait_for_selector(".sp-cc-open")
    assert rows(shop) == 2  # processed once: the new cookie no longer holds what GPC denies


def test_an_origin_not_listed_records_nothing(new_context, storefront):
    _, shop = storefront
    other = Storefront("127.0.0.3", shop.base + "/privacy").start()
    try:
        context = new_context(reduced_motion="reduce")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(other.origin + "/")
        wait_until(page, "typeof window.shopprivacyConsent === 'undefined'")  # the config was refused
        assert page.locator(".sp-cc").count() == 0
        sent = page.evaluate("""(url) => fetch(url, {method: 'POST', credentials: 'omit',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({method: 'reject_all', version: 'x'})}).then(() => 'sent', (e) => 'blocked')""",
                             shop.base + "/privacy/consent")
        assert sent == "blocked" and rows(shop) == 0
        assert any("CORS" in e or "Access-Control-Allow-Origin" in e for e in errors), errors
    finally:
        other.stop()


def test_screenshots_of_the_banner_on_a_storefront(new_context, storefront, tmp_path):
    front, _ = storefront
    chosen = os.environ.get("SHOPPRIVACY_TEST_SCREENSHOTS")
    out = tmp_path if not chosen else (Path(chosen) if Path(chosen).is_absolute() else REPO / chosen)
    out = out / "storefronts"
    out.mkdir(parents=True, exist_ok=True)
    page = new_context(reduced_motion="reduce", viewport={"width": 900, "height": 560}).new_page()
    page.goto(front.origin + "/")
    page.wait_for_selector(".sp-cc")
    wait_until(page, "getComputedStyle(document.querySelector('.sp-cc')).position === 'fixed'")  # its CSS loaded
    page.mouse.move(0, 0)
    target = out / "banner-other-origin.png"
    page.screenshot(path=str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 5000


def test_behind_a_same_origin_proxy_that_drops_cookies(new_context, make_shop):
    """``data-sp-base`` a path of the storefront's own origin, forwarded to the backend without ``Cookie`` or
    ``Set-Cookie`` (as a platform's app proxy does), and the origin not listed: the browser's
    ``Sec-Fetch-Site: same-origin`` vouches for it, the banner keeps the cookie itself."""
    front = Storefront("127.0.0.2", proxy="/apps/privacy")
    shop = make_shop()
    front.backend = shop.base + "/privacy"
    front.start()
    try:
        context = new_context(reduced_motion="reduce")
        page = context.new_page()
        page.goto(front.origin + "/")
        page.wait_for_selector(".sp-cc")
        with page.expect_response(lambda r: r.url == front.origin + "/apps/privacy/consent") as resp:
            page.click(".sp-cc-accept")
        assert resp.value.status == 200 and "set-cookie" not in resp.value.headers
        wait_until(page, "document.cookie.indexOf('sp_consent=') >= 0")
        first, _ = history(shop, context, front)
        page.reload()
        page.wait_for_selector(".sp-cc-open")
        assert page.locator(".sp-cc").count() == 0 and rows(shop) == 1
        page.click(".sp-cc-open")
        page.uncheck("input[data-cat='analytics']")
        choose(page, front, ".sp-cc-save")
        state, proof = history(shop, context, front)
        assert state.consent_id == first.consent_id and [r["method"] for r in proof] == ["accept_all", "withdraw"]
        posts = [f for f in front.forwarded if f.get("Content-Type") == "application/json"]
        assert len(posts) == 2 and all(f["Sec-Fetch-Site"] == "same-origin" for f in posts)
        assert posts[1]["Cookie"]  # the browser sent its cookie to the proxy, which dropped it
    finally:
        front.stop()
