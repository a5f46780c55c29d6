"""The WP Consent API bridge alone in Chromium: the visitor's choice is stated to WooCommerce's Order Attribution
once per page view, whichever comes first — the banner's event or the page's DOMContentLoaded."""

from __future__ import annotations

from .wpsite import PLUGIN

BRIDGE = (PLUGIN / "assets" / "wp-consent-bridge.js").read_text(encoding="utf-8")
FAKE_WC = ("window.wc_order_attribution = {params: {allowTracking: false}, calls: [],"
           " setOrderTracking: function (v) { this.calls.push(v); }};")
EVENT = ("document.dispatchEvent(new CustomEvent('shopprivacy:consent',"
         " {detail: {granted: ['analytics', 'marketing'], gpc: false}}));")


def _page(new_context, body_script: str, late_script: str = "") -> list[bool]:
    page = new_context().new_page()
    html = (f"<!doctype html><html><head><script>{FAKE_WC}</script><script>{BRIDGE}</script>"
            f"<script>{body_script}</script></head><body><p>shop</p>"
            f"<script>{late_script}</script></body></html>")
    page.set_content(html, wait_until="load")
    return list(page.evaluate("wc_order_attribution.calls"))


def test_a_stored_choice_announced_before_the_page_is_parsed_is_stated_once(new_context):
    # the banner reads its cookie and fires before DOMContentLoaded; the bridge then announces the consent type
    assert _page(new_context, EVENT) == [True]


def test_a_choice_announced_after_the_page_is_parsed_is_stated_once(new_context):
    page_calls = _page(new_context, "", late_script=f"window.addEventListener('load', function () {{ {EVENT} }});")
    assert page_calls == [True]


def test_another_scripts_consent_type_makes_the_bridge_state_the_choice_again(new_context):
    again = EVENT + " document.addEventListener('DOMContentLoaded', function () { setTimeout(function () {" \
                    " document.dispatchEvent(new CustomEvent('wp_consent_type_defined')); }, 0); });"
    page = new_context().new_page()
    page.set_content(f"<!doctype html><html><head><script>{FAKE_WC}</script><script>{BRIDGE}</script>"
                     f"<script>{again}</script></head><body></body></html>", wait_until="load")
    page.wait_for_function("wc_order_attribution.calls.length >= 2")
    assert page.evaluate("wc_order_attribution.calls") == [True, True]
