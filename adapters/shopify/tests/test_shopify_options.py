from __future__ import annotations

import pytest
from shopify_fakes import OPTIONS, SECRET
from shopprivacy_shopify import ShopifyAdapter, ShopifyOptions
from shopprivacy_shopify.options import SUPPORTED_API_VERSIONS

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.errors import ConfigurationError
from shopprivacy.platforms import (
    CustomerDirectory,
    MarketingConsentSink,
    PersonalDataHost,
    RenewalOrderCleaner,
    SubscriptionSource,
    WebhookReceiver,
    available_adapters,
    load_adapter,
)


def test_defaults_and_normalised_shop() -> None:
    opts = ShopifyOptions.from_mapping({**OPTIONS, "shop": "Example-Shop"})
    assert opts.shop == "example-shop.myshopify.com"
    assert opts.endpoint == "https://example-shop.myshopify.com/admin/api/2026-10/graphql.json"
    assert SECRET not in repr(opts)
    assert "shpat_" not in repr(opts)


@pytest.mark.parametrize(("change", "name"), [
    ({"access_token": None}, "access_token"),
    ({"client_secret": "short"}, "client_secret"),
    ({"shop": "evil.example.com"}, "shop"),
    ({"api_version": "2025-10"}, "api_version"),
    ({"api_version": "2026-05"}, "api_version"),
    ({"api_version": "2027-01"}, "api_version"),  # not validated against Shopify's schema yet
    ({"page_size": "0"}, "page_size"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_options_name_the_option_not_the_value(change: dict[str, str | None], name: str) -> None:
    raw = {k: v for k, v in {**OPTIONS, **change}.items() if v is not None}
    with pytest.raises(ConfigurationError) as info:
        ShopifyOptions.from_mapping(raw)
    assert name in str(info.value)
    assert info.value.setting == f"SHOPPRIVACY_PLATFORM_OPTIONS.{name}"
    assert "shpat_" not in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize("version", SUPPORTED_API_VERSIONS)
def test_supported_versions_are_accepted(version: str) -> None:
    assert ShopifyOptions.from_mapping({**OPTIONS, "api_version": version}).api_version == version


def test_entry_point_builds_the_adapter_with_its_protocols() -> None:
    assert "shopify" in available_adapters()
    settings = Settings(database_url="sqlite://", keyset=Keyset.generate().to_json(), platform="shopify",
                        platform_options=OPTIONS)
    adapter = load_adapter("shopify", settings)
    try:
        assert isinstance(adapter, ShopifyAdapter)
        for protocol in (CustomerDirectory, MarketingConsentSink, SubscriptionSource, PersonalDataHost,
                         WebhookReceiver):
            assert isinstance(adapter, protocol), protocol.__name__
        assert not isinstance(adapter, RenewalOrderCleaner)
    finally:
        adapter.close()


def test_entry_point_reports_a_missing_option() -> None:
    settings = Settings(database_url="sqlite://", keyset=Keyset.generate().to_json(), platform="shopify",
                        platform_options={"shop": "x"})
    with pytest.raises(ConfigurationError, match="access_token"):
        load_adapter("shopify", settings)


def test_a_misspelt_shopify_option_is_not_reported_as_missing() -> None:
    settings = Settings(platform="shopify", platform_options={"shop": "x.myshopify.com", "acess_token": "shpat_1234",
                                                              "client_secret": "s" * 20, "timeout": 5})
    with pytest.raises(ConfigurationError) as info:
        ShopPrivacy(settings).adapter  # noqa: B018
    message = str(info.value)
    assert message == ("SHOPPRIVACY_PLATFORM_OPTIONS.acess_token is not an option of the shopify adapter; did you "
                       "mean 'access_token'?")
