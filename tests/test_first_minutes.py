"""The first ten minutes of a new user: every configuration, URL, driver, connection and permission problem is one
line saying what is wrong and the fix, with a non-zero exit and never a traceback (the real CLI, in a
subprocess, as a user runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.errors import AdapterNotFound, ConfigurationError

ROOT = Path(__file__).resolve().parents[1]

#: Blocks an import, as on a machine where the package is not installed, then runs the CLI.
_WITHOUT = "import sys; sys.modules[{name!r}] = None; from shopprivacy.cli import main; sys.exit(main())"


def cli(*args: str, env: dict[str, str], without: str | None = None) -> subprocess.CompletedProcess[str]:
    """``shopprivacy ARGS`` in a subprocess with only ``env``'s SHOPPRIVACY_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOPPRIVACY_")}
    code = ["-c", _WITHOUT.format(name=without)] if without else ["-m", "shopprivacy"]
    return subprocess.run([sys.executable, *code, *args], env={**base, **env}, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def keyfile(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    Keyset.generate().write(path)
    return path


def _lines(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize("command", [["doctor"], ["db", "upgrade"]])
def test_sqlite_file_in_a_missing_directory_names_the_directory(command, keyfile, tmp_path):
    missing = tmp_path / "nowhere"
    result = cli(*command, env={"SHOPPRIVACY_KEYSET_FILE": str(keyfile),
                                "SHOPPRIVACY_DATABASE_URL": f"sqlite:///{missing}/shop.db"})
    out = _lines(result)
    assert result.returncode != 0
    assert f"the directory {missing} does not exist: create it (mkdir -p {missing})" in out
    assert "OperationalError" not in out


@pytest.mark.parametrize("command", [["doctor"], ["db", "upgrade"]])
def test_a_postgresql_refusing_connections_is_one_line_with_the_fix(command, keyfile):
    result = cli(*command, env={"SHOPPRIVACY_KEYSET_FILE": str(keyfile),
                                "SHOPPRIVACY_DATABASE_URL": "postgresql+psycopg://shop:secret@127.0.0.1:1/shop"})
    out = _lines(result)
    assert result.returncode != 0
    assert "connection refused at 127.0.0.1:1: start PostgreSQL" in out
    assert "secret" not in out and "OperationalError" not in out
    if command == ["doctor"]:  # the local adapter's check does not repeat (or crash on) the database's problem
        assert "not checked until the database problem above is fixed" in out


@pytest.mark.parametrize("command", [["doctor"], ["db", "upgrade"]])
def test_a_malformed_database_url_says_how_to_write_one(command, keyfile):
    result = cli(*command, env={"SHOPPRIVACY_KEYSET_FILE": str(keyfile), "SHOPPRIVACY_DATABASE_URL": "sqlite//shop.db"})
    out = _lines(result)
    assert result.returncode != 0
    assert "SHOPPRIVACY_DATABASE_URL" in out and "sqlite:///shop.db" in out and "ArgumentError" not in out


@pytest.mark.parametrize("command", [["doctor"], ["db", "upgrade"]])
def test_postgresql_without_psycopg_says_which_extra_to_install(command, keyfile):
    result = cli(*command, env={"SHOPPRIVACY_KEYSET_FILE": str(keyfile),
                                "SHOPPRIVACY_DATABASE_URL": "postgresql+psycopg://shop@127.0.0.1:1/shop"},
                 without="psycopg")
    out = _lines(result)
    assert result.returncode != 0
    assert "pip install 'shopprivacy[postgres]'" in out and "ModuleNotFoundError" not in out


def test_an_unwritable_sqlite_directory_is_a_permission_problem(keyfile, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes everywhere")
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    result = cli("db", "upgrade", env={"SHOPPRIVACY_KEYSET_FILE": str(keyfile),
                                       "SHOPPRIVACY_DATABASE_URL": f"sqlite:///{folder}/shop.db"})
    assert result.returncode == 3 and "permission denied" in _lines(result)


def test_a_world_readable_keyset_file_is_flagged(keyfile, tmp_path):
    keyfile.chmod(0o644)
    result = cli("doctor", env={"SHOPPRIVACY_KEYSET_FILE": str(keyfile),
                                "SHOPPRIVACY_DATABASE_URL": f"sqlite:///{tmp_path}/sp.db"})
    out = _lines(result)
    assert result.returncode == 1
    assert f"open to other users (mode 0644): chmod 600 {keyfile}" in out


def test_a_misspelt_platform_gets_a_suggestion_not_a_package_that_does_not_exist(keyfile, tmp_path):
    result = cli("doctor", env={"SHOPPRIVACY_KEYSET_FILE": str(keyfile), "SHOPPRIVACY_PLATFORM": "shopfiy",
                                "SHOPPRIVACY_DATABASE_URL": f"sqlite:///{tmp_path}/sp.db"})
    out = _lines(result)
    assert result.returncode == 1
    assert "did you mean 'shopify'?" in out and "shopprivacy-shopfiy" not in out


def test_a_misspelt_setting_gets_a_suggestion_and_every_problem_is_reported(keyfile):
    result = cli("doctor", env={"SHOPPRIVACY_KEYSET_FLIE": str(keyfile), "SHOPPRIVACY_PUBLIC_BASE_URL": "shop"})
    out = _lines(result)
    assert result.returncode == 1
    assert "SHOPPRIVACY_KEYSET_FLIE is not a known setting; did you mean SHOPPRIVACY_KEYSET_FILE?" in out
    assert "SHOPPRIVACY_PUBLIC_BASE_URL: must be an absolute http(s) URL" in out
    assert "Value error" not in out


def test_an_unknown_platform_without_a_near_name_lists_the_packages():
    with pytest.raises(AdapterNotFound) as info:
        ShopPrivacy(Settings(platform="magento")).adapter  # noqa: B018
    assert "pip install" not in str(info.value) or "shopprivacy-magento" not in str(info.value)
    assert "shopprivacy-shopify for shopify" in str(info.value)


def test_an_adapter_that_crashes_at_start_is_one_problem_line(monkeypatch, tmp_path):
    from shopprivacy import doctor

    def broken(self):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(doctor.ShopPrivacy, "adapter", property(broken))
    keyfile = tmp_path / "keys.json"
    Keyset.generate().write(keyfile)
    findings = doctor.run_checks({"SHOPPRIVACY_KEYSET_FILE": str(keyfile),
                                  "SHOPPRIVACY_DATABASE_URL": f"sqlite:///{tmp_path}/sp.db"})
    platform = [f for f in findings if f.check == "platform"]
    assert [f.level for f in platform] == ["problem"]
    assert "the adapter failed to start (RuntimeError: boom)" in platform[0].message


@given(st.text(max_size=80))
def test_any_database_url_is_accepted_or_a_configuration_error(url):
    try:
        Settings(database_url=url)
    except ValueError:
        pass  # pydantic's ValidationError: Settings.build turns it into the named ConfigurationError
    try:
        Settings.build({"database_url": url})
    except ConfigurationError as exc:
        assert str(exc).startswith("SHOPPRIVACY_DATABASE_URL") and "Value error" not in str(exc)




@given(st.text(max_size=30), st.lists(st.text(max_size=30), max_size=8))
def test_closest_never_fails_and_picks_a_choice(word, choices):
    from shopprivacy.hints import closest

    found = closest(word, choices)
    assert found is None or found in choices
