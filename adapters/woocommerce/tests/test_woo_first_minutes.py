"""The first ten minutes with the WooCommerce adapter: options given as JSON numbers and booleans are accepted,
every problem is reported at once in one line each with a "did you mean", never with a secret's value (the real
CLI, in a subprocess, as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy import Keyset
from shopprivacy.errors import ConfigurationError

_SCALARS = st.one_of(st.text(max_size=20), st.integers(), st.floats(allow_nan=False), st.booleans())


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``shopprivacy ARGS`` in a subprocess with only ``env``'s SHOPPRIVACY_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOPPRIVACY_")}
    return subprocess.run([sys.executable, "-m", "shopprivacy", *args], env={**base, **env}, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def keyfile(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    Keyset.generate().write(path)
    return path


def _lines(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result.stdout + result.stderr


def test_platform_options_take_json_numbers_and_booleans_and_every_problem_at_once(keyfile, tmp_path):
    options = {"site_url": "http://shop.test", "allow_insecure_http": True, "timeout": 5, "per_page": 50,
               "consumer_kee": "ck_" + "a" * 40}
    result = cli("doctor", env={"SHOPPRIVACY_KEYSET_FILE": str(keyfile), "SHOPPRIVACY_PLATFORM": "woocommerce",
                                "SHOPPRIVACY_PLATFORM_OPTIONS": json.dumps(options),
                                "SHOPPRIVACY_DATABASE_URL": f"sqlite:///{tmp_path}/sp.db"})
    out = _lines(result)
    assert "valid string" not in out and "timeout" not in out and "allow_insecure_http" not in out
    assert "SHOPPRIVACY_PLATFORM_OPTIONS.consumer_kee is not an option of the WooCommerce adapter; did you mean " \
           "'consumer_key'?" in out
    assert "SHOPPRIVACY_PLATFORM_OPTIONS.consumer_secret is required" in out  # with the typo, in the same run
    assert "consumer_key is required" not in out
    assert "a" * 40 not in out


@given(st.dictionaries(st.text(min_size=1, max_size=15), _SCALARS, max_size=6))
def test_any_json_options_are_accepted_or_named_problems_without_their_values(options):
    from shopprivacy_woocommerce.settings import WooCommerceOptions

    try:
        WooCommerceOptions.parse(options)
    except ConfigurationError as exc:
        lines = str(exc).splitlines()
        assert lines and all(line.startswith("SHOPPRIVACY_PLATFORM_OPTIONS") for line in lines)
        assert "Value error" not in str(exc)
        for value in options.values():
            if isinstance(value, str) and len(value) >= 8:
                assert value not in str(exc)
