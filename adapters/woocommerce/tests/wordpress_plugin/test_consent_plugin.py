"""The shopprivacy consent WordPress plugin on Debian's WordPress (MariaDB, ``php -S`` on ``127.0.0.2``), the
backend with the SDK on ``127.0.0.1``, choices made in Chromium: one proof row per choice, the consent cookie on
the WordPress origin, no re-ask after reload, the WP Consent API (``wp_set_consent`` in the page,
``wp_has_consent`` in PHP) and WooCommerce Order Attribution following the choice, GPC honoured."""

from __future__ import annotations

import os
import re
import urllib.request
from pathlib import Path

from sqlalchemy import func, select
from tests.browser.conftest import wait_until

from shopprivacy.consent.tables import consent_records

REPO = Path(__file__).resolve().parents[4]
#: Records the WP Consent API events the page sees, from the very start.
WATCH = """window.__typeDefined = 0; window.__changes = [];
document.addEventListener('wp_consent_type_defined', function () { window.__typeDefined += 1; });
document.addEventListener('wp_listen_for_consent_change', function (e) {
  window.__changes.push(Object.assign({}, e.detail)); });"""
GPC_ON = "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"
WP_CATEGORIES = ("functional", "preferences", "statistics", "statistics-anonymous", "marketing")


def rows(shop) -> int:
    with shop.sp.store.begin(write=False) as conn:
        return conn.execute(select(func.count()).select_from(consent_records)).scalar_one()


def cookie(context, origin: str, name: str) -> str | None:
    return next((c["value"] for c in context.cookies(origin) if c["name"] == name), None)


def probe(context, site) -> dict:
    """What WordPress concludes in PHP from the browser's cookies (the tests' must-use probe plugin)."""
    answer = context.request.get(site.origin + "/?sp_probe=1")
    assert answer.ok, answer.text()
    return answer.json()


def choose(page, selector: str) -> None:
    before = page.evaluate("document.cookie")
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent") and r.request.method == "POST") as resp:
        page.click(selector)
    assert resp.value.status == 200
    wait_until(page, f"document.cookie.indexOf('sp_consent=') >= 0 && document.cookie !== {before!r}")


def js_consent(page) -> dict:
    return page.evaluate(f"Object.fromEntries({list(WP_CATEGORIES)!r}.map(c => [c, wp_has_consent(c)]))")


def open_front(context, site):
    page = context.new_page()
    page.goto(site.origin + "/")
    wait_until(page, "window.__typeDefined > 0")
    return page


def test_the_page_wordpress_serves_embeds_the_banner_and_the_bridge(wordpress):
    site, shop = wordpress
    with urllib.request.urlopen(site.origin + "/", timeout=30) as answer:
        html = answer.read().decode()
    base = shop.base + "/privacy"
    tag = re.search(r"<script data-sp-base=\"([^\"]+)\" async src=['\"]([^'\"]+)['\"]", html)
    assert tag is not None and tag.groups() == (base, base + "/consent/consent.js")
    assert "shopprivacy-consent/assets/wp-consent-bridge.js" in html
    assert html.index("wp-consent-bridge.js") < html.index("/consent/consent.js")  # listens before the banner
    assert "Green Grocer" in html


def test_a_choice_is_one_proof_row_a_first_party_cookie_and_the_wp_consent_api_follows(new_context, wordpress):
    site, shop = wordpress
    context = new_context(reduced_motion="reduce")
    context.add_init_script(WATCH)
    before = probe(context, site)
    assert before["consent_type"] == "optin" and before["registered"] is True
    assert before["has_consent"]["marketing"] is False and before["allow_tracking"] is False

    page = open_front(context, site)
    page.wait_for_selector(".sp-cc")
    assert page.evaluate("window.wp_consent_type") == "optin"
    assert page.evaluate("wc_order_attribution.params.allowTracking") is False
    page.click(".sp-cc-customize")
    page.check("input[data-cat='analytics']")
    page.check("input[data-cat='marketing']")
    choose(page, ".sp-cc-save")
    assert rows(shop) == 1
    assert cookie(context, site.origin, "sp_consent") is not None
    assert cookie(context, shop.base, "sp_consent") is None
    wait_until(page, "wp_has_consent('marketing') === true")
    assert js_consent(page) == {"functional": True, "preferences": False, "statistics": True,
                                "statistics-anonymous": True, "marketing": True}
    assert {"marketing": "allow"} in page.evaluate("window.__changes")
    assert page.evaluate("wc_order_attribution.calls") == [True]
    after = probe(context, site)
    assert after["has_consent"] == {"functional": True, "preferences": False, "statistics": True,
                                    "statistics-anonymous": True, "marketing": True}
    assert after["allow_tracking"] is True

    page.reload()
    wait_until(page, "window.__typeDefined > 0 && wc_order_attribution.calls.length > 0")
    page.wait_for_selector(".sp-cc-open")
    assert page.locator(".sp-cc").count() == 0  # not asked again
    assert page.evaluate("wc_order_attribution.params.allowTracking") is True  # from PHP, before any script
    assert page.evaluate("wc_order_attribution.calls") == [True]  # stated again on each page view
    assert rows(shop) == 1

    state = shop.sp.consent.state({"sp_consent": cookie(context, site.origin, "sp_consent")}, {})
    proof = shop.sp.consent.export(state.consent_id)
    assert [(r["method"], sorted(r["granted"]), r["page_url"]) for r in proof] == [
        ("custom", ["analytics", "marketing"], site.origin + "/")]


def test_withdrawing_marketing_denies_it_in_wordpress_and_stops_order_attribution(new_context, wordpress):
    site, shop = wordpress
    context = new_context(reduced_motion="reduce")
    context.add_init_script(WATCH)
    page = open_front(context, site)
    page.wait_for_selector(".sp-cc")
    choose(page, ".sp-cc-accept")
    assert probe(context, site)["has_consent"]["marketing"] is True

    page.reload()
    wait_until(page, "window.__typeDefined > 0")
    page.click(".sp-cc-open")
    page.uncheck("input[data-cat='marketing']")
    choose(page, ".sp-cc-save")
    wait_until(page, "wp_has_consent('marketing') === false")
    assert page.evaluate("wc_order_attribution.calls").pop() is False
    assert {"marketing": "deny"} in page.evaluate("window.__changes")
    after = probe(context, site)
    assert after["has_consent"]["marketing"] is False and after["has_consent"]["statistics"] is True
    assert after["allow_tracking"] is False
    state = shop.sp.consent.state({"sp_consent": cookie(context, site.origin, "sp_consent")}, {})
    assert [r["method"] for r in shop.sp.consent.export(state.consent_id)] == ["accept_all", "withdraw"]
    assert rows(shop) == 2


def test_gpc_is_honoured_in_the_proof_and_in_wordpress(new_context, wordpress):
    site, shop = wordpress
    context = new_context(reduced_motion="reduce", extra_http_headers={"Sec-GPC": "1"})
    context.add_init_script(WATCH)
    context.add_init_script(GPC_ON)
    page = open_front(context, site)
    page.wait_for_selector(".sp-cc-gpc")
    choose(page, ".sp-cc-accept")
    wait_until(page, "wp_has_consent('statistics') === true")
    assert page.evaluate("wp_has_consent('marketing')") is False
    assert page.evaluate("wc_order_attribution.calls") == [False]
    seen = probe(context, site)
    assert seen["has_consent"]["marketing"] is False and seen["allow_tracking"] is False
    state = shop.sp.consent.state({"sp_consent": cookie(context, site.origin, "sp_consent")}, {"Sec-GPC": "1"})
    proof = shop.sp.consent.export(state.consent_id)
    assert proof[0]["gpc"] is True and "marketing" not in proof[0]["granted"] and rows(shop) == 1
    page.reload()
    page.wait_for_selector(".sp-cc-open")
    assert page.locator(".sp-cc").count() == 0 and rows(shop) == 1


def test_without_the_wp_consent_api_order_attribution_follows_the_banner_cookie(new_context, wordpress):
    """The PHP side reads the banner's own cookie when the WP Consent API plugin is not active."""
    site, _ = wordpress
    site.configure(deactivate=["wp-consent-api/wp-consent-api.php"])
    context = new_context(reduced_motion="reduce")
    context.add_init_script(WATCH)
    page = open_front(context, site)
    page.wait_for_selector(".sp-cc")
    assert probe(context, site)["allow_tracking"] is False
    choose(page, ".sp-cc-accept")
    assert page.evaluate("wc_order_attribution.calls") == [True]
    assert probe(context, site)["allow_tracking"] is True
    assert probe(context, site)["has_consent"]["marketing"] is None  # no WP Consent API here


def test_screenshots_of_the_setting_and_the_banner_on_wordpress(new_context, make_wordpress, tmp_path):
    site, shop = make_wordpress(admin=True)
    chosen = os.environ.get("SHOPPRIVACY_TEST_SCREENSHOTS")
    out = tmp_path if not chosen else (Path(chosen) if Path(chosen).is_absolute() else REPO / chosen)
    out = out / "storefronts"
    out.mkdir(parents=True, exist_ok=True)
    context = new_context(reduced_motion="reduce", viewport={"width": 900, "height": 560})
    page = context.new_page()
    page.goto(site.origin + "/")
    page.wait_for_selector(".sp-cc")
    wait_until(page, "getComputedStyle(document.querySelector('.sp-cc')).position === 'fixed'")
    page.mouse.move(0, 0)
    page.screenshot(path=str(out / "wordpress-banner.png"))

    admin = new_context(viewport={"width": 1000, "height": 520}).new_page()
    admin.goto(site.origin + "/wp-login.php")
    admin.fill("#user_login", "admin")
    admin.fill("#user_pass", site.password)
    admin.click("#wp-submit")
    admin.wait_for_url("**/wp-admin/**")
    admin.goto(site.origin + "/wp-admin/options-general.php?page=shopprivacy-consent")
    field = admin.locator("#shopprivacy_consent_base")
    assert field.input_value() == shop.base + "/privacy"
    assert f"SHOPPRIVACY_CONSENT__ALLOWED_ORIGINS={site.origin}" in admin.content()
    admin.screenshot(path=str(out / "wordpress-settings.png"))

    field.fill("javascript:alert(1)")  # refused, the old value kept
    admin.click("#submit")
    admin.wait_for_selector(".notice-error, .error")
    assert admin.locator("#shopprivacy_consent_base").input_value() == shop.base + "/privacy"
    field = admin.locator("#shopprivacy_consent_base")
    field.fill(shop.base + "/privacy/")  # kept without its trailing slash
    admin.click("#submit")
    admin.wait_for_selector("#setting-error-settings_updated")
    assert admin.locator("#shopprivacy_consent_base").input_value() == shop.base + "/privacy"
    for name in ("wordpress-banner.png", "wordpress-settings.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / name).stat().st_size > 5000


def test_the_banner_speaks_the_sites_language(new_context, wordpress):
    site, _ = wordpress
    site.configure(options={"WPLANG": "de_DE"})  # WordPress then serves <html lang="de-DE">
    page = new_context(reduced_motion="reduce").new_page()
    page.goto(site.origin + "/")
    page.wait_for_selector(".sp-cc")
    assert page.evaluate("document.documentElement.lang") == "de-DE"
    assert page.locator(".sp-cc").get_attribute("lang") == "de"


def test_a_cached_page_that_allows_order_attribution_is_corrected_before_a_choice(new_context, wordpress):
    """A full-page cache may serve a page rendered for a visitor who allowed tracking: a visitor who has not
    chosen gets Order Attribution switched off by the bridge, and on after accepting."""
    site, _ = wordpress
    context = new_context(reduced_motion="reduce")
    context.add_init_script(WATCH)
    page = context.new_page()
    page.goto(site.origin + "/?sp_cached_allow=1")
    wait_until(page, "window.__typeDefined > 0")
    page.wait_for_selector(".sp-cc")
    assert page.evaluate("wc_order_attribution.calls") == [False]
    assert page.evaluate("wc_order_attribution.params.allowTracking") is False
    choose(page, ".sp-cc-accept")
    assert page.evaluate("wc_order_attribution.calls") == [False, True]
