"""The Shopify kit in real Chromium: a stand-in Shopify storefront on ``127.0.0.2`` (the theme extension's blocks
rendered with python-liquid, a fake of Shopify's Customer Privacy API) whose app proxy forwards ``/apps/privacy``
to the backend on ``127.0.0.1``, signed as Shopify signs. One choice is one proof row (tied to the logged-in
customer), the cookie is the storefront's, no re-ask after reload, Shopify's API follows the choice, GPC is
honoured, and the do-not-sell page records the opt-out against the customer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shopprivacy.consent.tables import consent_records

from .conftest import wait_until
from .shopify_storefront import ShopifyStorefront

pytest.importorskip("liquid", reason="the storefront stand-in renders the theme extension with python-liquid")
pytest.importorskip("shopprivacy_shopify", reason="the Shopify adapter serves the app proxy routes")

from shopprivacy_shopify.customers import customer_gid

REPO = Path(__file__).resolve().parents[2]
SHOP = "green-grocer.myshopify.com"
SECRET = "shpss_browser_test_secret"
OPTIONS = {"shop": SHOP, "access_token": "shpat_browser_test_token", "client_secret": SECRET}
GPC_ON = "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"
CALLS = "window.__shopifyCalls"


@pytest.fixture
def shopify(make_shop):
    front = ShopifyStorefront("127.0.0.2", shop=SHOP, secret=SECRET)
    shop = make_shop(platform="shopify", platform_options=OPTIONS)
    front.backend = shop.base + "/privacy/shopify/proxy"
    front.start()
    yield front, shop
    front.stop()


def rows(shop) -> int:
    with shop.sp.store.begin(write=False) as conn:
        return conn.execute(select(func.count()).select_from(consent_records)).scalar_one()


def front_cookie(context, front) -> str | None:
    return next((c["value"] for c in context.cookies(front.origin) if c["name"] == "sp_consent"), None)


def history(shop, context, front):
    state = shop.sp.consent.state({"sp_consent": front_cookie(context, front)})
    return state, shop.sp.consent.export(state.consent_id)


def customer(shop, customer_id: str) -> list[dict]:
    return shop.sp.consent.customer_history(shop.sp.pseudonym(customer_gid(customer_id), namespace="customer"))


def choose(page, selector):
    before = page.evaluate("document.cookie")
    with page.expect_response(lambda r: r.url.endswith("/apps/privacy/consent") and r.request.method == "POST") as r:
        page.click(selector)
    assert r.value.status == 200
    wait_until(page, f"document.cookie.indexOf('sp_consent=') >= 0 && document.cookie !== {before!r}")


def set_calls(page) -> list[dict]:
    return [c[1] for c in page.evaluate(CALLS) if c[0] == "setTrackingConsent"]


def test_one_choice_one_row_for_the_customer_and_shopifys_api_follows(new_context, shopify):
    front, shop = shopify
    front.customer = "7421"
    context = new_context(reduced_motion="reduce")
    page = context.new_page()
    page.goto(front.origin + "/?lang=fr")
    page.wait_for_selector(".sp-cc")
    assert page.locator(".sp-cc").get_attribute("lang") == "fr"  # the embed passed the page's language
    wait_until(page, f"{CALLS}.some(function (c) {{ return c[0] === 'loadFeatures'; }})")
    assert page.evaluate(f"{CALLS}[0]") == ["loadFeatures", [{"name": "consent-tracking-api", "version": "0.1"}]]
    assert set_calls(page) == []  # nothing is set before the visitor chooses

    page.click(".sp-cc-customize")
    page.check("input[data-cat='analytics']")
    choose(page, ".sp-cc-save")
    wait_until(page, f"{CALLS}.some(function (c) {{ return c[0] === 'setTrackingConsent'; }})")
    assert set_calls(page) == [{"analytics": True, "marketing": False, "preferences": False, "sale_of_data": False}]
    assert rows(shop) == 1 and front_cookie(context, front) is not None
    assert not any(c["name"] == "sp_consent" for c in context.cookies(shop.base))
    assert all(not f["Cookie"] for f in front.forwarded)  # the proxy passed no cookie on
    (row,) = customer(shop, "7421")
    assert row["granted"] == ["analytics"] and row["page_url"] == front.origin + "/"

    page.reload()
    page.wait_for_selector(".sp-cc-open")
    wait_until(page, f"{CALLS}.some(function (c) {{ return c[0] === 'currentVisitorConsent'; }})")
    assert page.locator(".sp-cc").count() == 0 and rows(shop) == 1  # not asked again
    page.wait_for_timeout(100)
    assert set_calls(page) == []  # Shopify already holds the same choice: read, not set again
    assert front.hits["/track/analytics.js"] == 2 and front.hits["/track/marketing.js"] == 0


def test_gpc_is_honoured_and_passed_to_shopify(new_context, shopify):
    front, shop = shopify
    context = new_context(reduced_motion="reduce", extra_http_headers={"Sec-GPC": "1"})
    context.add_init_script(GPC_ON)
    page = context.new_page()
    page.goto(front.origin + "/")
    page.wait_for_selector(".sp-cc-gpc")
    choose(page, ".sp-cc-accept")
    wait_until(page, f"{CALLS}.some(function (c) {{ return c[0] === 'setTrackingConsent'; }})")
    (sent,) = set_calls(page)
    assert sent == {"analytics": True, "marketing": False, "preferences": True, "sale_of_data": False}
    _, proof = history(shop, context, front)
    assert proof[0]["gpc"] is True and not {"marketing", "sale_of_data"} & set(proof[0]["granted"])
    assert "customer" not in proof[0]  # nobody logged in: the browser's consent only
    page.reload()
    page.wait_for_selector(".sp-cc-open")
    assert rows(shop) == 1 and front.hits["/track/marketing.js"] == 0


def test_do_not_sell_from_the_storefront_is_recorded_for_the_customer(new_context, shopify):
    front, shop = shopify
    front.customer = "5150"
    context = new_context(reduced_motion="reduce")
    page = context.new_page()
    page.goto(front.origin + "/")
    page.wait_for_selector(".sp-cc")
    choose(page, ".sp-cc-accept")
    first, _ = history(shop, context, front)
    assert first.allows("sale_of_data") and first.allows("marketing")

    page.click("a[href='/apps/privacy/do-not-sell']")  # the privacy choices link of the theme extension
    page.wait_for_selector("form[data-sp-do-not-sell]")
    with page.expect_response(lambda r: r.url.endswith("/apps/privacy/consent") and r.request.method == "POST"):
        page.click("form[data-sp-do-not-sell] button")
    page.wait_for_selector(".sp-cc-done")
    state, proof = history(shop, context, front)
    assert state.consent_id == first.consent_id and state.allows("analytics")
    assert not state.allows("sale_of_data") and not state.allows("marketing")
    assert [r["method"] for r in proof] == ["accept_all", "withdraw"]
    assert [r["method"] for r in customer(shop, "5150")] == ["accept_all", "withdraw"]
    assert rows(shop) == 2

    page.goto(front.origin + "/")  # back on the storefront, Shopify's API learns the opt-out
    wait_until(page, f"{CALLS}.some(function (c) {{ return c[0] === 'setTrackingConsent'; }})")
    assert set_calls(page) == [{"analytics": True, "marketing": False, "preferences": True, "sale_of_data": False}]

    other = new_context(reduced_motion="reduce").new_page()  # another browser of the same customer
    other.goto(front.origin + "/apps/privacy/do-not-sell")
    assert "You have opted out" in other.content()


def test_a_stale_proxy_signature_gets_no_banner_and_records_nothing(new_context, shopify):
    front, shop = shopify
    front.clock_skew = -600  # the stand-in signs with a timestamp ten minutes old
    page = new_context(reduced_motion="reduce").new_page()
    page.goto(front.origin + "/")
    wait_until(page, "document.readyState === 'complete'")
    page.wait_for_timeout(300)
    assert page.locator(".sp-cc").count() == 0 and rows(shop) == 0


def test_screenshot_of_the_banner_on_a_shopify_storefront(new_context, shopify, tmp_path):
    front, _ = shopify
    chosen = os.environ.get("SHOPPRIVACY_TEST_SCREENSHOTS")
    out = (tmp_path if not chosen else (Path(chosen) if Path(chosen).is_absolute() else REPO / chosen)) / "storefronts"
    out.mkdir(parents=True, exist_ok=True)
    page = new_context(reduced_motion="reduce", viewport={"width": 900, "height": 560}).new_page()
    page.goto(front.origin + "/")
    page.wait_for_selector(".sp-cc")
    wait_until(page, "getComputedStyle(document.querySelector('.sp-cc')).position === 'fixed'")
    page.mouse.move(0, 0)
    page.screenshot(path=str(out / "banner-shopify.png"))
    assert (out / "banner-shopify.png").stat().st_size > 1000
