import pytest

from shopprivacy import Settings, ShopPrivacy
from shopprivacy.errors import AdapterNotFound, ConfigurationError, UnsupportedOperation
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
    with pytest.raises(AdapterNotFound, match=r"'no-such-platform'.*installed: .*local") as info:
        load_adapter("no-such-platform", Settings())
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


def test_platform_options_are_validated_naming_the_option_never_its_value():
    from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

    from shopprivacy.platforms import parse_platform_options

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        token: SecretStr
        page_size: int = 50

        @field_validator("page_size")
        @classmethod
        def _size(cls, v: int) -> int:
            if not 1 <= v <= 250:
                raise ValueError("page_size must be 1 to 250")
            return v

    assert parse_platform_options(Options, {"token": "tok_secret"}, "demo").page_size == 50
    cases = [({}, "token", "is required for the demo adapter"),
             ({"token": "tok_secret", "colour": "x"}, "colour", "is not an option of the demo adapter"),
             ({"token": "tok_secret", "page_size": "999"}, "page_size", "page_size must be 1 to 250")]
    for options, name, words in cases:
        with pytest.raises(ConfigurationError) as info:
            parse_platform_options(Options, options, "demo")
        assert info.value.setting == f"SHOPPRIVACY_PLATFORM_OPTIONS.{name}" and words in str(info.value)
        assert "tok_secret" not in str(info.value) and "Value error" not in str(info.value)
