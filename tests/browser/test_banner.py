"""The banner in real headless Chromium: gating, Consent Mode, GPC, persistence, RTL, keyboard, axe-core."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shopprivacy.consent.settings import Category, ConsentSettings

LOCALES = ["en", "fr", "de", "ar", "es", "it", "nl"]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def open_shop(page, shop, lang="en"):
    page.goto(f"{shop.base}/?lang={lang}")
    page.wait_for_selector(".sp-cc")


def loaded(page):
    return page.evaluate("window.__loaded || []")


def test_before_any_choice_nothing_runs_and_consent_mode_defaults_to_denied(page, shop):
    open_shop(page, shop)
    default = json.loads(page.evaluate("window.__gcmDefault"))
    assert default[0:2] == ["consent", "default"]
    signals = default[2]
    assert signals["security_storage"] == "granted"
    for s in ("ad_storage", "analytics_storage", "ad_user_data", "ad_personalization", "functionality_storage",
              "personalization_storage"):
        assert signals[s] == "denied"
    assert loaded(page) == [] and sum(shop.hits.values()) == 0
    assert page.get_attribute("iframe", "src") is None
    # first layer: reject is as easy as accept — same element type, same size
    accept, reject = page.locator(".sp-cc-accept"), page.locator(".sp-cc-reject")
    a, r = accept.bounding_box(), reject.bounding_box()
    assert abs(a["height"] - r["height"]) < 1 and abs(a["width"] - r["width"]) < 2
    assert page.locator(".sp-cc-customize").is_visible()


def test_reject_all_loads_nothing_even_after_reload(page, shop):
    open_shop(page, shop)
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent")):
        page.click(".sp-cc-reject")
    page.reload()
    page.wait_for_selector(".sp-cc-open")
    assert page.locator(".sp-cc").count() == 0
    assert loaded(page) == [] and sum(shop.hits.values()) == 0
    cookie = next(c for c in page.context.cookies() if c["name"] == "sp_consent")
    state = shop.sp.consent.state({"sp_consent": cookie["value"]}, {})
    assert state.decided and not state.granted


def test_accept_all_loads_gated_tags_in_order_and_updates_consent_mode(page, shop):
    open_shop(page, shop)
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent")):
        page.click(".sp-cc-accept")
    page.wait_for_function("(window.__loaded || []).length === 2")
    assert loaded(page) == ["/track/analytics.js", "/track/marketing.js"]
    assert page.get_attribute("iframe", "src") == "/track/embed.html"
    update = page.evaluate("JSON.stringify(Array.prototype.slice.call(window.dataLayer[1]))")
    assert json.loads(update)[2]["analytics_storage"] == "granted"
    assert json.loads(update)[2]["ad_storage"] == "granted"
    page.reload()  # the choice is kept
    page.wait_for_function("(window.__loaded || []).length === 2")
    assert page.locator(".sp-cc").count() == 0


def test_customize_grants_only_the_chosen_categories(page, shop):
    open_shop(page, shop)
    page.click(".sp-cc-customize")
    boxes = page.locator(".sp-cc input[data-cat]")
    assert [b.is_checked() for b in boxes.all()] == [True, False, False, False, False]  # nothing pre-ticked
    assert page.locator("#sp-cc-necessary").is_disabled()
    page.check("#sp-cc-analytics")
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent")):
        page.click(".sp-cc-save")
    page.wait_for_function("(window.__loaded || []).length === 1")
    assert loaded(page) == ["/track/analytics.js"]
    assert shop.hits["/track/marketing.js"] == 0
    records = shop.sp.consent.export(shop.sp.consent.state(
        {"sp_consent": next(c["value"] for c in page.context.cookies() if c["name"] == "sp_consent")}, {}).consent_id)
    assert records[-1]["method"] == "custom" and records[-1]["granted"] == ["analytics"]


def test_withdrawal_from_the_settings_button_deletes_declared_cookies(browser, make_shop):
    shop = make_shop(consent=ConsentSettings(categories={
        "analytics": Category(cookies=[{"name": "_ga*"}]), "marketing": Category()}))
    context = browser.new_context()
    page = context.new_page()
    open_shop(page, shop)
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent")):
        page.click(".sp-cc-accept")
    page.evaluate("document.cookie = '_ga_XYZ=1; path=/'; document.cookie = 'cart=2; path=/'")
    page.click(".sp-cc-open")
    page.uncheck("#sp-cc-analytics")
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent")):
        page.click(".sp-cc-save")
    names = {c["name"] for c in context.cookies()}
    assert "_ga_XYZ" not in names and "cart" in names
    context.close()


def test_gpc_denies_marketing_and_sale_of_data_and_says_so(browser, shop):
    context = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
    context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})")
    page = context.new_page()
    open_shop(page, shop)
    assert page.locator(".sp-cc-gpc").is_visible()
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent")):
        page.click(".sp-cc-accept")
    page.wait_for_function("(window.__loaded || []).length === 1")
    assert loaded(page) == ["/track/analytics.js"]
    granted = page.evaluate("window.shopprivacyConsent.granted()")
    assert "marketing" not in granted and "sale_of_data" not in granted
    value = next(c["value"] for c in context.cookies() if c["name"] == "sp_consent")
    state = shop.sp.consent.state({"sp_consent": value}, {"Sec-GPC": "1"})
    assert not state.allows("marketing") and not state.allows("sale_of_data") and state.allows("analytics")
    assert shop.sp.consent.export(state.consent_id)[-1]["gpc"] is True
    context.close()


def test_policy_change_re_prompts(page, make_shop):
    shop = make_shop()
    open_shop(page, shop)
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent")):
        page.click(".sp-cc-accept")
    page.reload()
    page.wait_for_selector(".sp-cc-open")
    changed = make_shop(consent=ConsentSettings(categories={"analytics": Category(services=["Matomo"])}))
    page.goto(f"{changed.base}/")
    page.wait_for_selector(".sp-cc")
    assert page.evaluate("(window.__loaded || []).length") == 0


def test_arabic_is_right_to_left(page, shop):
    open_shop(page, shop, "ar")
    assert page.get_attribute(".sp-cc", "dir") == "rtl" and page.get_attribute(".sp-cc", "lang") == "ar"
    assert page.inner_text(".sp-cc-accept") == "قبول الكل"


def test_keyboard_alone_reaches_and_operates_every_control(page, shop):
    open_shop(page, shop)
    focused = page.evaluate("document.activeElement.className")
    assert "sp-cc-btn" in focused  # focus moves into the banner
    seen = set()
    for _ in range(6):
        seen.add(page.evaluate("document.activeElement.textContent"))
        page.keyboard.press("Tab")
    assert {"Accept all", "Reject all", "Customize"} <= seen
    page.focus(".sp-cc-customize")
    page.keyboard.press("Enter")
    page.focus("#sp-cc-marketing")
    page.keyboard.press("Space")
    assert page.is_checked("#sp-cc-marketing")
    page.focus(".sp-cc-save")
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent")):
        page.keyboard.press("Enter")
    page.wait_for_function("(window.__loaded || []).length === 1")
    assert loaded(page) == ["/track/marketing.js"]
    assert page.evaluate("document.activeElement.className").find("sp-cc-open") >= 0  # focus is not lost


def test_narrow_screen_and_zoom(browser, shop):
    context = browser.new_context(viewport={"width": 320, "height": 640}, device_scale_factor=2)
    page = context.new_page()
    open_shop(page, shop)
    box = page.locator(".sp-cc").bounding_box()
    assert box["width"] <= 320 and page.locator(".sp-cc-reject").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    context.close()


def _axe_path() -> Path:
    path = Path(os.environ.get("SHOPPRIVACY_TEST_AXE", ""))
    if not path.is_file():
        pytest.fail("axe-core is missing: the browser env installs it from npm (SHOPPRIVACY_TEST_AXE)")
    return path


@pytest.mark.parametrize("lang", LOCALES)
def test_axe_reports_no_violations(page, shop, lang):
    axe = _axe_path().read_text()
    open_shop(page, shop, lang)
    for layer in ("first", "second"):
        if layer == "second":
            page.click(".sp-cc-customize")
        page.add_script_tag(content=axe)
        result = page.evaluate("async () => (await axe.run(document.querySelector('.sp-cc'))).violations")
        assert result == [], f"{lang} {layer} layer: {[(v['id'], v['help']) for v in result]}"


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_screenshots_for_the_docs(page, shop, lang):
    page.set_viewport_size({"width": 900, "height": 560})
    open_shop(page, shop, lang)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / f"banner-{lang}.png"))
    page.click(".sp-cc-customize")
    page.screenshot(path=str(DOCS_IMG / f"banner-{lang}-customize.png"), full_page=False)
    assert (DOCS_IMG / f"banner-{lang}.png").stat().st_size > 1000
