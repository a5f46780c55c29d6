import importlib.util
from pathlib import Path

import pytest

from shopprivacy.errors import ShopPrivacyError
from shopprivacy.renewals import assert_within_allow_list

from .test_view import RAW

JOB = Path(__file__).parents[2] / "examples" / "renewal_job" / "renew.py"


def load():
    spec = importlib.util.spec_from_file_location("renew_job", JOB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_job_runs_offline(tmp_path, capsys):
    job = load()
    assert job.main([str(tmp_path), "--seed", "5", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would bill") == 5
    assert job.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "billed 5" in out and "cleaned_orders 5" in out and "@" not in out
    assert job.main([str(tmp_path)]) == 0
    assert "billed" not in capsys.readouterr().out


def test_example_shop_code_stays_inside_the_allow_list():
    assert assert_within_allow_list(load().shipping_fee, RAW) == "4.90"


def test_example_job_takes_the_adapter_and_database_the_settings_choose(tmp_path, monkeypatch, capsys, keyset):
    job = load()
    chosen = tmp_path / "chosen.db"
    monkeypatch.setenv("SHOPPRIVACY_DATABASE_URL", f"sqlite:///{chosen}")
    monkeypatch.setenv("SHOPPRIVACY_KEYSET", keyset.to_json())
    assert job.main([str(tmp_path / "job"), "--seed", "2"]) == 0
    assert "billed 2" in capsys.readouterr().out
    assert chosen.exists()
    assert not (tmp_path / "job" / "sp.db").exists() and not (tmp_path / "job" / "keys.json").exists()
    monkeypatch.setenv("SHOPPRIVACY_PLATFORM", "no-such-platform")
    with pytest.raises(ShopPrivacyError):
        job.main([str(tmp_path / "job")])
