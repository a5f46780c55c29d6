import pytest

from shopprivacy import Settings, ShopPrivacy
from shopprivacy.errors import AdapterNotFound, UnsupportedOperation
from shopprivacy.platforms import (
    CustomerDirectory,
    MarketingConsentSink,
    PersonalDataHost,
    available_adapters,
    load_adapter,
    require,
)
from shopprivacy.platforms.local import LocalShop


def test_local_adapter_is_registered_and_loads(tmp_path):
    assert "local" in available_adapters()
    adapter = load_adapter("local", Settings(platform_options={"database_url": f"sqlite:///{tmp_path}/s.db"}))
    assert isinstance(adapter, LocalShop) and adapter.name == "local"
    assert isinstance(adapter, CustomerDirectory) and isinstance(adapter, MarketingConsentSink)
    adapter.close()


def test_unknown_adapter_lists_installed_ones():
    with pytest.raises(AdapterNotFound, match=r"'shopify'.*installed: .*local") as info:
        load_adapter("shopify", Settings())
    assert info.value.setting == "SHOPPRIVACY_PLATFORM"


def test_facade_builds_adapter_from_settings(tmp_path):
    sp = ShopPrivacy(Settings(platform_options={"database_url": f"sqlite:///{tmp_path}/s.db"}))
    assert sp.adapter.name == "local"
    sp.close()


def test_require_names_the_missing_operation():
    class Minimal:
        name = "minimal"

        def close(self):
            pass

    with pytest.raises(UnsupportedOperation, match="'minimal'.*export"):
        require(Minimal(), PersonalDataHost, "customer export")
