import pytest
from shopprivacy_woocommerce import WooCommerceAdapter, WooCommerceOptions

from shopprivacy import Settings
from shopprivacy.errors import AdapterNotFound, ConfigurationError
from shopprivacy.platforms import (
    CustomerDirectory,
    MarketingConsentSink,
    PersonalDataHost,
    RenewalOrderCleaner,
    SubscriptionSource,
    WebhookReceiver,
    load_adapter,
)

GOOD = {"site_url": "https://shop.example/", "consumer_key": "ck_test_key_123", "consumer_secret": "cs_test_secret_456"}


def test_entry_point_builds_the_adapter():
    settings = Settings(platform="woocommerce", platform_options=GOOD)
    try:
        adapter = load_adapter("woocommerce", settings)
    except AdapterNotFound:
        pytest.fail("the woocommerce entry point is not installed")
    assert isinstance(adapter, WooCommerceAdapter)
    for protocol in (CustomerDirectory, MarketingConsentSink, SubscriptionSource, RenewalOrderCleaner,
                     PersonalDataHost, WebhookReceiver):
        assert isinstance(adapter, protocol)
    assert adapter.options.site_url == "https://shop.example"
    adapter.close()


@pytest.mark.parametrize(("missing", "setting"), [("site_url", "SHOPPRIVACY_PLATFORM_OPTIONS.site_url"),
                                                  ("consumer_key", "SHOPPRIVACY_PLATFORM_OPTIONS.consumer_key")])
def test_missing_option_is_named(missing, setting):
    data = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ConfigurationError) as info:
        WooCommerceOptions.parse(data)
    assert info.value.setting == setting


def test_plain_http_refused_unless_allowed():
    with pytest.raises(ConfigurationError, match="https"):
        WooCommerceOptions.parse({**GOOD, "site_url": "http://shop.example"})
    opts = WooCommerceOptions.parse({**GOOD, "site_url": "http://localhost:8080", "allow_insecure_http": "true"})
    assert opts.allow_insecure_http is True


@pytest.mark.parametrize("url", ["HTTP://shop.example", "Http://shop.example", " hTTp://shop.example/"])
def test_plain_http_in_any_case_is_refused(url):
    with pytest.raises(ConfigurationError, match="https"):
        WooCommerceOptions.parse({**GOOD, "site_url": url})
    allowed = WooCommerceOptions.parse({**GOOD, "site_url": url, "allow_insecure_http": "true"})
    assert allowed.site_url == "http://shop.example"  # stored with the scheme lower-cased


def test_upper_case_https_is_stored_lower_cased():
    assert WooCommerceOptions.parse({**GOOD, "site_url": "HTTPS://Shop.example/"}).site_url == "https://Shop.example"


@pytest.mark.parametrize(("name", "value"), [("allow_insecure_http", "maybe"), ("per_page", "500"),
                                             ("site_url", "ftp://shop"), ("consumer_key", "short"),
                                             ("hold_entity", "bad name"), ("typo_option", "x")])
def test_bad_values_name_the_option(name, value):
    with pytest.raises(ConfigurationError) as info:
        WooCommerceOptions.parse({**GOOD, name: value})
    assert info.value.setting == f"SHOPPRIVACY_PLATFORM_OPTIONS.{name}"


def test_secrets_never_print():
    opts = WooCommerceOptions.parse({**GOOD, "webhook_secret": "whsec-very-secret"})
    text = repr(opts) + str(opts)
    assert "cs_test_secret_456" not in text
    assert "whsec-very-secret" not in text
