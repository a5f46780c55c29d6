import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.errors import ConfigurationError, KeysetError, ShopPrivacyError


def test_defaults_are_private_and_local():
    s = Settings()
    assert s.database_url == "sqlite:///shopprivacy.db"
    assert s.platform == "local"
    assert s.keyset is None


def test_from_env_reads_prefixed_variables_and_nested_groups(tmp_path):
    ks = Keyset.generate()
    env = {
        "SHOPPRIVACY_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "SHOPPRIVACY_KEYSET": ks.to_json(),
        "SHOPPRIVACY_PUBLIC_BASE_URL": "https://shop.example/",
        "SHOPPRIVACY_OUTBOX__MAX_ATTEMPTS": "3",
        "SHOPPRIVACY_PLATFORM_OPTIONS": '{"shop": "s.myshopify.com"}',
        "UNRELATED": "x",
    }
    s = Settings.from_env(env)
    assert s.public_base_url == "https://shop.example"
    assert s.outbox.max_attempts == 3
    assert s.platform_options == {"shop": "s.myshopify.com"}
    assert s.load_keyset() == ks


def test_secret_never_prints():
    ks = Keyset.generate()
    s = Settings(keyset=ks.to_json())
    assert ks.to_json() not in repr(s)
    assert ks.to_json() not in str(s.model_dump())


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"SHOPPRIVACY_DATABASE_URL": "mysql://x"}, "SHOPPRIVACY_DATABASE_URL"),
        ({"SHOPPRIVACY_PUBLIC_BASE_URL": "shop.example"}, "SHOPPRIVACY_PUBLIC_BASE_URL"),
        ({"SHOPPRIVACY_OUTBOX__MAX_ATTEMPTS": "zero"}, "SHOPPRIVACY_OUTBOX__MAX_ATTEMPTS"),
        ({"SHOPPRIVACY_DATABSE_URL": "sqlite://"}, "SHOPPRIVACY_DATABSE_URL"),
        ({"SHOPPRIVACY_PLATFORM_OPTIONS": "{bad json"}, "SHOPPRIVACY_PLATFORM_OPTIONS"),
        ({"SHOPPRIVACY_DEFAULT_LOCALE": "e"}, "SHOPPRIVACY_DEFAULT_LOCALE"),
        ({"SHOPPRIVACY_AUDIT__ANCHOR_PATH": "anchor.jsonl"}, "SHOPPRIVACY_AUDIT__ANCHOR_PATH"),
    ],
)
def test_invalid_settings_name_the_variable(env, setting):
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env(env)
    assert info.value.setting == setting
    assert setting in str(info.value)


def test_audit_anchor_path_is_read_from_the_environment(tmp_path):
    assert Settings.from_env({}).audit.anchor_path is None
    path = tmp_path / "audit.anchor"
    assert Settings.from_env({"SHOPPRIVACY_AUDIT__ANCHOR_PATH": str(path)}).audit.anchor_path == path


def test_missing_and_weak_keys_fail_at_start(tmp_path):
    with pytest.raises(KeysetError, match="SHOPPRIVACY_KEYSET"):
        ShopPrivacy.from_env({})
    with pytest.raises(KeysetError, match="at least 32"):
        ShopPrivacy.from_env({"SHOPPRIVACY_KEYSET": '{"version":1,"primary":"a","keys":[{"id":"a","secret":"YWJj"}]}'})
    with pytest.raises(KeysetError, match="SHOPPRIVACY_KEYSET_FILE"):
        ShopPrivacy.from_env({"SHOPPRIVACY_KEYSET_FILE": str(tmp_path / "nope.json")})


def test_keyset_file(tmp_path):
    ks = Keyset.generate()
    ks.write(tmp_path / "k.json")
    sp = ShopPrivacy.from_env({"SHOPPRIVACY_KEYSET_FILE": str(tmp_path / "k.json")})
    assert sp.keyring.primary_id == ks.primary


@given(st.dictionaries(st.sampled_from(["SHOPPRIVACY_DATABASE_URL", "SHOPPRIVACY_PUBLIC_BASE_URL",
                                        "SHOPPRIVACY_OUTBOX__LEASE_SECONDS", "SHOPPRIVACY_PLATFORM_OPTIONS",
                                        "SHOPPRIVACY_DEFAULT_LOCALE", "SHOPPRIVACY_X__Y__Z"]),
                       st.text(max_size=40), max_size=4))
def test_env_parser_raises_only_configuration_errors(env):
    try:
        Settings.from_env(env)
    except ShopPrivacyError as exc:
        assert isinstance(exc, ConfigurationError)
