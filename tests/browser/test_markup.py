"""Issue 20, markup and Consent Mode in Chromium: target sizes (WCAG 2.2 2.5.8), the no-script form in the body
and gone after a choice, the portal's ids and labels, and Consent Mode per region."""

from __future__ import annotations

import json

import pytest

from shopprivacy.consent.regions import EEA_UK_CH
from shopprivacy.consent.settings import ConsentSettings

from .conftest import wait_until
from .shop_app import AXE_PATH
from .test_banner import _axe_path, open_shop, posted

AD = ("ad_storage", "ad_user_data", "ad_personalization")
TARGETS = ".sp-cc button, .sp-cc input:not([disabled]), .sp-cc a, .sp-cc-open"
SIZES = f"""() => Array.from(document.querySelectorAll({json.dumps(TARGETS)}))
  .filter(e => e.getClientRects().length)
  .map(e => {{ const r = e.getBoundingClientRect(); return [e.className || e.id, r.width, r.height]; }})"""


def _too_small(page):
    sizes = page.evaluate(SIZES)
    assert sizes, "no target found"
    return [s for s in sizes if s[1] < 24 or s[2] < 24]


@pytest.mark.parametrize("root_font", ["", "10px"])
def test_every_target_of_the_banner_is_at_least_24_css_px(page, make_shop, root_font):
    shop = make_shop(consent=ConsentSettings(policy_url="https://shop.example/privacy"))
    open_shop(page, shop)
    if root_font:  # a theme with a small root font (set through the CSSOM: the strict CSP allows it)
        page.evaluate(f"document.documentElement.style.fontSize = '{root_font}'")
    assert _too_small(page) == []
    page.click(".sp-cc-customize")
    assert page.locator(".sp-cc input[role=switch]").count() == 5
    assert _too_small(page) == []
    with posted(page):
        page.click(".sp-cc-save")
    page.wait_for_selector(".sp-cc-open")
    assert _too_small(page) == []


def test_without_javascript_the_form_is_styled_in_the_body_and_gone_after_the_choice(new_context, shop):
    # reduced motion: the banner slides in for 0.2 s otherwise, and a box measured mid-slide is a few px low
    context = new_context(java_script_enabled=False, viewport={"width": 900, "height": 600}, reduced_motion="reduce")
    page = context.new_page()
    page.goto(f"{shop.base}/?lang=de")
    form = page.locator("form.sp-cc-noscript")
    assert form.count() == 1 and form.is_visible()
    where = form.evaluate("f => [f.parentElement.tagName, f.parentElement.parentElement.tagName,"
                          " getComputedStyle(f).position, getComputedStyle(f).borderTopWidth, f.lang]")
    assert where == ["NOSCRIPT", "BODY", "fixed", "2px", "de"]
    box = form.bounding_box()
    assert abs(box["y"] + box["height"] - 600) < 1  # at the bottom of the window, like the banner
    assert page.locator("main h1").bounding_box()["y"] < 100  # not pushed above the page's own content
    for button in form.locator("button").all():
        b = button.bounding_box()
        assert b["height"] >= 44 and b["width"] >= 24
    with page.expect_navigation():
        page.click("form.sp-cc-noscript .sp-cc-reject")
    assert page.url.startswith(f"{shop.base}/")  # back to the page (its Referrer-Policy sends the origin only)
    assert page.locator("form.sp-cc-noscript").count() == 0 and page.locator("noscript").count() == 0
    cookie = next(c["value"] for c in context.cookies() if c["name"] == "sp_consent")
    state = shop.sp.consent.state({"sp_consent": cookie}, {})
    assert state.decided and not state.granted
    assert shop.sp.consent.export(state.consent_id)[-1]["method"] == "reject_all"


def test_portal_labels_focus_their_own_field_and_axe_finds_nothing(page, shop):
    _axe_path()
    page.goto(f"{shop.base}/privacy/rights")
    page.wait_for_selector(".sp-cc")
    fields = page.locator("main input:not([type=hidden]), main textarea")
    assert fields.count() == 14  # e-mail in nine forms, new e-mail, first and last name, two messages
    for i in range(fields.count()):
        field = fields.nth(i)
        ident = field.get_attribute("id")
        assert page.locator(f"[id='{ident}']").count() == 1
        label = page.locator(f"label[for='{ident}']")
        assert label.count() == 1 and label.inner_text().strip()
        label.click()
        assert page.evaluate("document.activeElement.id") == ident
        # the label that focused it sits in the same form
        assert field.evaluate("(f) => f.form === f.labels[0].closest('form') && f.labels.length === 1")
    page.add_script_tag(url=AXE_PATH)
    result = page.evaluate("async () => (await axe.run(document)).violations")
    assert result == [], [(v["id"], v["help"]) for v in result]


def _update(page):
    """The Consent Mode update sent after the visitor's choice."""
    return json.loads(page.evaluate(
        "JSON.stringify(Array.prototype.slice.call(window.dataLayer.filter(e => e[1] === 'update').pop()))"))[2]


def _marketing_only(page, shop, query=""):
    page.goto(f"{shop.base}/{query}")
    page.wait_for_selector(".sp-cc")
    page.click(".sp-cc-customize")
    page.check("#sp-cc-marketing")
    with posted(page):
        page.click(".sp-cc-save")
    wait_until(page, "window.dataLayer.some(e => e[1] === 'update')")
    return _update(page)


def test_marketing_without_sale_of_data_grants_the_ad_signals_by_default(page, shop):
    update = _marketing_only(page, shop)
    assert all(update[s] == "granted" for s in AD)  # an EU visitor who agreed keeps ad measurement
    assert update["analytics_storage"] == "denied"


@pytest.mark.parametrize(("query", "granted"), [("?region=US-CA", False), ("?region=us", False),
                                                ("?region=FR", True), ("?region=EU", True)])
def test_sale_of_data_narrows_only_for_visitors_in_its_regions(page, shop, query, granted):
    update = _marketing_only(page, shop, query)
    assert all(update[s] == ("granted" if granted else "denied") for s in AD), update


def test_everywhere_narrows_for_every_visitor_and_sale_of_data_lifts_it(page, make_shop):
    shop = make_shop(consent=ConsentSettings(consent_mode_sale_of_data_regions=["*"]))
    assert all(v == "denied" for k, v in _marketing_only(page, shop).items() if k in AD)
    page.click(".sp-cc-open")
    page.check("#sp-cc-sale_of_data")
    with posted(page):
        page.click(".sp-cc-save")
    wait_until(page, "window.dataLayer.filter(e => e[1] === 'update').length === 2")
    assert all(_update(page)[s] == "granted" for s in AD)


def test_the_preset_sets_the_default_for_each_country_by_its_iso_code(page, make_shop):
    shop = make_shop(consent=ConsentSettings(consent_mode_regions=["EEA+UK+CH", "US-CA"]))
    open_shop(page, shop)
    default = json.loads(page.evaluate("window.__gcmDefault"))
    assert default[2]["region"] == [*EEA_UK_CH, "US-CA"] and "EU" not in default[2]["region"]
    assert all(default[2][s] == "denied" for s in AD)
