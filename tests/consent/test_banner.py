"""The banner's texts, configuration and tags (shopprivacy.consent.banner), as ``sp.consent`` offers them."""

from shopprivacy.consent.banner import Banner


def _banner(sp):
    return Banner(sp.consent.settings, sp.consent.policy, public_base_url="https://shop.example")


def test_sp_consent_renders_through_its_banner(sp):
    banner = _banner(sp)
    args = ("fr-CA, fr;q=0.8", "n0nce")
    assert sp.consent.banner_html(*args, region="US-CA", denied=["marketing"]) == banner.head_html(
        *args, region="US-CA", denied=["marketing"])
    assert sp.consent.noscript_html("de") == banner.noscript_html("de")
    assert sp.consent.config("de") == banner.config("de") and sp.consent.texts("ar") == banner.texts("ar")
    assert sp.consent.asset_url("consent.js") == banner.asset_url("consent.js")


def test_the_tags_point_to_the_shop_and_drop_a_placeholder_region(sp):
    banner = _banner(sp)
    assert banner.config("en")["endpoint"] == "https://shop.example/privacy/consent"
    assert 'data-sp-region="US-CA"' in banner.head_html("en", region="us-ca")
    assert "data-sp-region" not in banner.head_html("en", region="XX")
    assert 'action="https://shop.example/privacy/consent"' in banner.noscript_html("en")
