"""The banner in real headless Chromium: gating, Consent Mode, GPC, persistence, RTL, keyboard, axe-core."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shopprivacy.consent.settings import Category, ConsentSettings
from shopprivacy.i18n import available_locales

from .conftest import wait_until
from .shop_app import AXE_PATH

#: Every language the banner ships: each is checked by axe-core.
LOCALES = sorted(available_locales("shopprivacy.consent.static"))
REPO = Path(__file__).resolve().parents[2]
CONSENT_POST = "/privacy/consent"


def open_shop(page, shop, lang="en"):
    page.goto(f"{shop.base}/?lang={lang}")
    page.wait_for_selector(".sp-cc")


def loaded(page):
    return page.evaluate("window.__loaded || []")


def posted(page):
    return page.expect_response(lambda r: r.url.endswith(CONSENT_POST) and r.request.method == "POST")


def consent_cookie(context):
    return {"sp_consent": next(c["value"] for c in context.cookies() if c["name"] == "sp_consent")}


def history(shop, context):
    """The proof rows of this browser's consent id, oldest first."""
    state = shop.sp.consent.state(consent_cookie(context), {})
    return shop.sp.consent.export(state.consent_id)


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
    with posted(page):
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
    with posted(page):
        page.click(".sp-cc-accept")
    wait_until(page, "(window.__loaded || []).length === 2")
    assert loaded(page) == ["/track/analytics.js", "/track/marketing.js"]
    assert page.get_attribute("iframe", "src") == "/track/embed.html"
    update = page.evaluate("JSON.stringify(Array.prototype.slice.call(window.dataLayer[1]))")
    assert json.loads(update)[2]["analytics_storage"] == "granted"
    assert json.loads(update)[2]["ad_storage"] == "granted"
    page.reload()  # the choice is kept
    wait_until(page, "(window.__loaded || []).length === 2")
    assert page.locator(".sp-cc").count() == 0


def test_customize_grants_only_the_chosen_categories(page, shop):
    open_shop(page, shop)
    page.click(".sp-cc-customize")
    boxes = page.locator(".sp-cc input[data-cat]")
    assert [b.is_checked() for b in boxes.all()] == [True, False, False, False, False]  # nothing pre-ticked
    assert page.locator("#sp-cc-necessary").is_disabled()
    page.check("#sp-cc-analytics")
    with posted(page):
        page.click(".sp-cc-save")
    wait_until(page, "(window.__loaded || []).length === 1")
    assert loaded(page) == ["/track/analytics.js"]
    assert shop.hits["/track/marketing.js"] == 0
    records = shop.sp.consent.export(shop.sp.consent.state(
        {"sp_consent": next(c["value"] for c in page.context.cookies() if c["name"] == "sp_consent")}, {}).consent_id)
    assert records[-1]["method"] == "custom" and records[-1]["granted"] == ["analytics"]


def test_withdrawal_from_the_settings_button_deletes_declared_cookies(new_context, make_shop):
    shop = make_shop(consent=ConsentSettings(categories={
        "analytics": Category(cookies=[{"name": "_ga*"}]), "marketing": Category()}))
    context = new_context()
    page = context.new_page()
    open_shop(page, shop)
    with posted(page):
        page.click(".sp-cc-accept")
    page.evaluate("document.cookie = '_ga_XYZ=1; path=/'; document.cookie = 'cart=2; path=/'")
    page.click(".sp-cc-open")
    page.uncheck("#sp-cc-analytics")
    with posted(page):
        page.click(".sp-cc-save")
    names = {c["name"] for c in context.cookies()}
    assert "_ga_XYZ" not in names and "cart" in names
    rows = history(shop, context)
    assert [r["method"] for r in rows] == ["accept_all", "withdraw"]
    assert rows[-1]["granted"] == ["marketing"] and rows[-1]["denied"] == ["analytics"]
    # saving again without switching anything off is an ordinary choice, not a withdrawal
    page.click(".sp-cc-open")
    with posted(page):
        page.click(".sp-cc-save")
    # "Reject all" from the settings after a grant withdraws what was left
    page.click(".sp-cc-open")
    with posted(page):
        page.click(".sp-cc-reject")
    assert [r["method"] for r in history(shop, context)] == ["accept_all", "withdraw", "custom", "withdraw"]
    assert history(shop, context)[-1]["granted"] == []


def test_server_deletes_httponly_cookies_of_withdrawn_categories(new_context, make_shop):
    shop = make_shop(consent=ConsentSettings(categories={"analytics": Category(cookies=[{"name": "_pk_id*"}])}))
    context = new_context()
    page = context.new_page()
    open_shop(page, shop)
    with posted(page):
        page.click(".sp-cc-accept")
    context.add_cookies([{"name": "_pk_id.1", "value": "x", "url": shop.base, "httpOnly": True}])
    page.click(".sp-cc-open")
    page.uncheck("#sp-cc-analytics")
    with posted(page):
        page.click(".sp-cc-save")
    assert "_pk_id.1" not in {c["name"] for c in context.cookies()}  # script cannot see it: the server expired it


def test_gpc_denies_marketing_and_sale_of_data_and_says_so(new_context, shop):
    context = new_context(extra_http_headers={"Sec-GPC": "1"})
    context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})")
    page = context.new_page()
    open_shop(page, shop)
    assert page.locator(".sp-cc-gpc").is_visible()
    with posted(page):
        page.click(".sp-cc-accept")
    wait_until(page, "(window.__loaded || []).length === 1")
    assert loaded(page) == ["/track/analytics.js"]
    granted = page.evaluate("window.shopprivacyConsent.granted()")
    assert "marketing" not in granted and "sale_of_data" not in granted
    state = shop.sp.consent.state(consent_cookie(context), {"Sec-GPC": "1"})
    assert not state.allows("marketing") and not state.allows("sale_of_data") and state.allows("analytics")
    # a first choice under GPC keeps its own method; the flag proves the signal was applied
    [row] = shop.sp.consent.export(state.consent_id)
    assert row["method"] == "accept_all" and row["gpc"] is True
    assert row["granted"] == ["analytics", "preferences"]


def test_gpc_over_an_earlier_grant_is_recorded_once_then_explicit_reconsent_wins(new_context, shop):
    before = new_context()
    page = before.new_page()
    open_shop(page, shop)
    with posted(page):
        page.click(".sp-cc-accept")
    cookies = before.cookies()

    context = new_context(extra_http_headers={"Sec-GPC": "1"})
    context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})")
    context.add_cookies(cookies)
    page = context.new_page()
    with posted(page):
        page.goto(f"{shop.base}/")
    page.wait_for_selector(".sp-cc-open")
    wait_until(page, "(window.__loaded || []).length === 1")
    assert loaded(page) == ["/track/analytics.js"] and shop.hits["/track/marketing.js"] == 1  # only the first visit
    rows = history(shop, context)
    assert [r["method"] for r in rows] == ["accept_all", "gpc"]
    assert rows[-1]["gpc"] is True and rows[-1]["granted"] == ["analytics", "preferences"]
    assert rows[-1]["denied"] == ["marketing", "sale_of_data"]
    # the opt-out is kept in the cookie: later page views send nothing more
    page.reload()
    wait_until(page, "(window.__loaded || []).length === 1")
    assert len(history(shop, context)) == 2
    # the visitor may consent explicitly after the signal; that choice wins over it
    page.click(".sp-cc-open")
    assert page.locator(".sp-cc-gpc").is_visible() and not page.is_checked("#sp-cc-marketing")
    page.check("#sp-cc-marketing")
    with posted(page):
        page.click(".sp-cc-save")
    wait_until(page, "(window.__loaded || []).includes('/track/marketing.js')")
    assert history(shop, context)[-1]["method"] == "custom"
    assert shop.sp.consent.state(consent_cookie(context), {"Sec-GPC": "1"}).allows("marketing")
    page.reload()
    wait_until(page, "(window.__loaded || []).length === 2")
    assert len(history(shop, context)) == 3  # an explicit override is not re-recorded as a GPC opt-out


def test_policy_change_re_prompts(page, make_shop):
    shop = make_shop()
    open_shop(page, shop)
    with posted(page):
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
    # focus moves to the banner itself, not onto a choice: Accept is not preselected over Reject
    assert page.evaluate("document.activeElement.classList.contains('sp-cc')")
    page.keyboard.press("Enter")
    assert page.locator(".sp-cc-reject").is_visible()  # Enter chose nothing
    page.keyboard.press("Tab")
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
    with posted(page):
        page.keyboard.press("Enter")
    wait_until(page, "(window.__loaded || []).length === 1")
    assert loaded(page) == ["/track/marketing.js"]
    assert page.evaluate("document.activeElement.className").find("sp-cc-open") >= 0  # focus is not lost


#: Chromium's page zoom at 200 % of a 1280x800 window lays pages out in 640x400 CSS px at devicePixelRatio 2
#: (WCAG 1.4.4 Resize text); 320x256 CSS px is that window at 400 % (WCAG 1.4.10 Reflow).
VIEWS = {"zoom-200": ({"width": 640, "height": 400}, 2), "reflow-320": ({"width": 320, "height": 256}, 4)}
CONTROLS = ".sp-cc button, .sp-cc input:not([disabled]), .sp-cc a"
OVERFLOW = """() => {
  const w = document.documentElement.clientWidth, cc = document.querySelector('.sp-cc'), out = [];
  if (document.documentElement.scrollWidth > w) out.push('page scrolls sideways');
  if (cc.scrollWidth > cc.clientWidth) out.push('banner scrolls sideways');
  if (cc.getBoundingClientRect().height > innerHeight + 0.5) out.push('banner taller than the viewport');
  for (const el of cc.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width && (r.left < -0.5 || r.right > w + 0.5)) out.push(el.tagName + '.' + el.className + ' clipped');
  }
  return out;
}"""
VISIBLE = """el => {
  const r = el.getBoundingClientRect(), hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight &&
    (hit === el || el.contains(hit));
}"""


def _every_control_reachable(page):
    controls = page.locator(CONTROLS)
    assert controls.count() >= 3
    for i in range(controls.count()):
        control = controls.nth(i)
        control.scroll_into_view_if_needed()
        assert control.evaluate(VISIBLE), f"{control.evaluate('e => e.outerHTML')} is hidden or covered"


@pytest.mark.parametrize("lang", ["en", "de", "ar"])
@pytest.mark.parametrize("view", VIEWS)
def test_zoom_and_reflow_keep_every_control_reachable(new_context, shop, view, lang):
    """At 200 % zoom and at 320 CSS px nothing overflows sideways, the banner fits the viewport (scrolling
    inside itself), every control can be scrolled into view uncovered, and the banner still works."""
    size, scale = VIEWS[view]
    page = new_context(viewport=size, device_scale_factor=scale).new_page()
    open_shop(page, shop, lang)
    assert page.evaluate("devicePixelRatio") == scale and page.evaluate("innerWidth") == size["width"]
    for layer in ("first", "second"):
        if layer == "second":
            page.click(".sp-cc-customize")
        assert page.evaluate(OVERFLOW) == [], f"{layer} layer"
        _every_control_reachable(page)
    page.check("#sp-cc-analytics")
    with posted(page):
        page.click(".sp-cc-save")
    wait_until(page, "(window.__loaded || []).length === 1")
    assert page.locator(".sp-cc-open").evaluate(VISIBLE)


def _axe_path() -> Path:
    path = Path(os.environ.get("SHOPPRIVACY_TEST_AXE", ""))
    if not path.is_file():
        pytest.fail("axe-core is missing: the browser env installs it from npm (SHOPPRIVACY_TEST_AXE)")
    return path


@pytest.mark.parametrize("lang", LOCALES)
def test_axe_reports_no_violations(page, shop, lang):
    _axe_path()
    open_shop(page, shop, lang)
    page.add_script_tag(url=AXE_PATH)  # from the shop's origin: the strict CSP allows it, no inline script
    for layer in ("first", "second"):
        if layer == "second":
            page.click(".sp-cc-customize")
        result = page.evaluate("async () => (await axe.run(document.querySelector('.sp-cc'))).violations")
        assert result == [], f"{lang} {layer} layer: {[(v['id'], v['help']) for v in result]}"


def _screenshot_dir(tmp_path):
    """Screenshots go to a temporary directory; ``SHOPPRIVACY_TEST_SCREENSHOTS=docs/img`` refreshes the docs."""
    chosen = os.environ.get("SHOPPRIVACY_TEST_SCREENSHOTS")
    if not chosen:
        return tmp_path
    path = Path(chosen)
    return path if path.is_absolute() else REPO / path


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_screenshots_for_the_docs(page, shop, lang, tmp_path):
    out = _screenshot_dir(tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 900, "height": 560})
    open_shop(page, shop, lang)
    page.screenshot(path=str(out / f"banner-{lang}.png"))
    page.click(".sp-cc-customize")
    page.mouse.move(0, 0)  # no hover state in the picture
    page.screenshot(path=str(out / f"banner-{lang}-customize.png"))
    for name in (f"banner-{lang}.png", f"banner-{lang}-customize.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / name).stat().st_size > 5000


# -- bridges: the platform APIs are stubbed in the page before the banner loads; the calls are asserted exactly --
SHOPIFY_STUB = """window.__calls = [];
window.Shopify = {customerPrivacy: {setTrackingConsent: function (consent, callback) {
  window.__calls.push(['setTrackingConsent', JSON.parse(JSON.stringify(consent)), typeof callback]);
  if (callback) callback();
}}};"""
SHOPIFY_LOADER_STUB = """window.__calls = [];
window.Shopify = {loadFeatures: function (features, callback) {
  window.__calls.push(['loadFeatures', JSON.parse(JSON.stringify(features))]);
  window.Shopify.customerPrivacy = {setTrackingConsent: function (consent, cb) {
    window.__calls.push(['setTrackingConsent', JSON.parse(JSON.stringify(consent)), typeof cb]);
  }};
  setTimeout(function () { callback(false); }, 0);
}};"""
WP_STUB = """window.__calls = [];
window.wp_set_consent = function (category, value) { window.__calls.push([category, value]); };"""


def _shopify(analytics, marketing, preferences, sale_of_data):
    return ["setTrackingConsent", {"analytics": analytics, "marketing": marketing, "preferences": preferences,
                                   "sale_of_data": sale_of_data}, "function"]


def _wp(preferences, statistics, marketing):
    v = {True: "allow", False: "deny"}
    return [["functional", "allow"], ["preferences", v[preferences]], ["statistics", v[statistics]],
            ["statistics-anonymous", v[statistics]], ["marketing", v[marketing]]]


def _bridged_page(new_context, stub, **options):
    context = new_context(**options)
    context.add_init_script(stub)
    return context.new_page()


def test_shopify_bridge_mirrors_accept_reject_and_customize(new_context, shop):
    page = _bridged_page(new_context, SHOPIFY_STUB)
    open_shop(page, shop)
    assert page.evaluate("window.__calls") == []  # nothing is sent before a choice
    with posted(page):
        page.click(".sp-cc-accept")
    assert page.evaluate("window.__calls") == [_shopify(True, True, True, True)]
    page.click(".sp-cc-open")
    with posted(page):
        page.click(".sp-cc-reject")
    assert page.evaluate("window.__calls")[1:] == [_shopify(False, False, False, False)]
    page.click(".sp-cc-open")
    page.check("#sp-cc-marketing")
    page.check("#sp-cc-preferences")
    with posted(page):
        page.click(".sp-cc-save")
    # marketing without sale_of_data: Shopify gets exactly that split
    assert page.evaluate("window.__calls")[2:] == [_shopify(False, True, True, False)]
    page.reload()  # a stored choice is mirrored on every page view
    page.wait_for_selector(".sp-cc-open")
    assert page.evaluate("window.__calls") == [_shopify(False, True, True, False)]


def test_shopify_bridge_loads_the_api_when_the_theme_has_not(new_context, shop):
    page = _bridged_page(new_context, SHOPIFY_LOADER_STUB)
    open_shop(page, shop)
    assert page.evaluate("window.__calls") == [["loadFeatures", [{"name": "consent-tracking-api", "version": "0.1"}]]]
    page.click(".sp-cc-customize")
    page.check("#sp-cc-sale_of_data")
    page.check("#sp-cc-analytics")
    with posted(page):
        page.click(".sp-cc-save")
    assert page.evaluate("window.__calls")[1:] == [_shopify(True, False, False, True)]
    page.reload()
    wait_until(page, "window.__calls.length === 2")
    assert page.evaluate("window.__calls") == [
        ["loadFeatures", [{"name": "consent-tracking-api", "version": "0.1"}]], _shopify(True, False, False, True)]


def test_shopify_bridge_under_gpc_sends_no_sale_or_marketing(new_context, shop):
    page = _bridged_page(new_context, SHOPIFY_STUB + "Object.defineProperty(navigator, 'globalPrivacyControl', "
                         "{get: () => true});", extra_http_headers={"Sec-GPC": "1"})
    open_shop(page, shop)
    with posted(page):
        page.click(".sp-cc-accept")
    assert page.evaluate("window.__calls") == [_shopify(True, False, True, False)]


def test_wp_consent_api_bridge(new_context, shop):
    page = _bridged_page(new_context, WP_STUB)
    open_shop(page, shop)
    assert page.evaluate("window.__calls") == [] and page.evaluate("window.wp_consent_type") is None
    with posted(page):
        page.click(".sp-cc-reject")
    assert page.evaluate("window.__calls") == _wp(False, False, False)
    assert page.evaluate("window.wp_consent_type") == "optin"
    page.click(".sp-cc-open")
    page.check("#sp-cc-analytics")
    page.check("#sp-cc-sale_of_data")  # no WP Consent API category: it changes nothing there
    with posted(page):
        page.click(".sp-cc-save")
    assert page.evaluate("window.__calls")[5:] == _wp(False, True, False)
    page.click(".sp-cc-open")
    with posted(page):
        page.click(".sp-cc-accept")
    assert page.evaluate("window.__calls")[10:] == _wp(True, True, True)


def test_wp_consent_type_set_by_another_plugin_is_kept(new_context, shop):
    page = _bridged_page(new_context, WP_STUB + "window.wp_consent_type = 'optout';")
    open_shop(page, shop)
    with posted(page):
        page.click(".sp-cc-accept")
    assert page.evaluate("window.wp_consent_type") == "optout"
    assert page.evaluate("window.__calls") == _wp(True, True, True)


# -- strict CSP --
def test_the_shop_sends_a_strict_csp_and_the_watch_catches_violations(new_context, shop, csp):
    page = new_context().new_page()
    response = page.goto(f"{shop.base}/")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy and "'nonce-" in policy
    nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
    assert page.locator("script[src*='/consent/consent.js']").evaluate("e => e.nonce") == nonce
    page.wait_for_selector(".sp-cc")
    with posted(page):
        page.click(".sp-cc-accept")
    wait_until(page, "window.__inlineRan === true")  # the gated inline tag ran under the page's nonce
    assert csp.violations == []
    # the watch works: an inline script without the nonce is refused and reported
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__bad = 1';"
                  " document.body.appendChild(s); }")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__bad") is None
    assert any("script-src" in v for v in csp.violations)
    csp.violations.clear()


def test_a_signed_in_customers_opt_out_of_sale_wins_over_the_cookie(page, shop):
    """The page renders the banner with the categories the customer's rights request refuses: the banner then
    never allows them, although the browser's cookie granted everything."""
    open_shop(page, shop)
    with posted(page):
        page.click(".sp-cc-accept")
    allows = "['sale_of_data', 'analytics', 'marketing'].map(c => window.shopprivacyConsent.allows(c))"
    wait_until(page, "window.shopprivacyConsent.allows('analytics')")
    assert page.evaluate(allows) == [True, True, True]
    page.goto(f"{shop.base}/?lang=en&denied=sale_of_data")
    page.wait_for_selector(".sp-cc-open")
    wait_until(page, "window.shopprivacyConsent.allows('analytics')")
    assert page.evaluate(allows) == [False, True, True]
