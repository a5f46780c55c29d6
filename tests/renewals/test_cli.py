import json

import pytest

from shopprivacy.cli import main
from shopprivacy.platforms.local import LocalShop

from .conftest import T0, add_subs


@pytest.fixture
def env(monkeypatch, settings, sp):
    monkeypatch.setenv("SHOPPRIVACY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SHOPPRIVACY_KEYSET", settings.keyset.get_secret_value())
    shop = LocalShop.from_url(settings.database_url)
    yield shop
    shop.close()


def test_renewals_run_dry_run_then_real(env, capsys):
    add_subs(env, 3)
    assert main(["renewals", "run", "--dry-run", "--until", "2026-11-02T00:00:00+00:00"]) == 0
    out = capsys.readouterr().out
    assert out.count("would bill") == 3 and "would_bill 3" in out and env.billing_count() == 0
    assert main(["renewals", "run", "--until", "2026-11-02T00:00:00+00:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["billed"] == 3 and env.billing_count() == 3
    assert main(["renewals", "run", "--until", "yesterday"]) == 2
    assert "--until" in capsys.readouterr().err


def test_retention_plan_sweep_receipts(env, sp, capsys, tmp_path):
    from datetime import datetime, timezone

    from shopprivacy.store import Inbox

    old = Inbox(sp.store, clock=lambda: datetime(2020, 1, 1, tzinfo=timezone.utc))
    with sp.store.begin() as conn:
        old.accept(conn, source="shopify:s", delivery_id="w-old", topic="customers/redact")
    assert main(["retention", "plan"]) == 0
    assert "sdk.outbox.done" in capsys.readouterr().out
    assert main(["retention", "sweep", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["rule"] == "sdk.outbox.done"
    assert main(["retention", "receipts", "--rule", "sdk.inbox"]) == 0
    assert "sdk.inbox" in capsys.readouterr().out  # a receipt for the rule that removed the old delivery
    assert main(["retention", "receipts", "--rule", "sdk.outbox.done"]) == 0
    assert capsys.readouterr().out == ""  # a sweep that changed nothing leaves no receipt
    bad = tmp_path / "bad.toml"
    bad.write_text('[rules.broken]\ntable = "t"\nkeep_for = "soon"\n')
    assert main(["retention", "plan", "--rules", str(bad)]) == 2
    assert "broken" in capsys.readouterr().err


def test_renewals_and_retention_read_the_environment_they_are_given(settings, sp, monkeypatch, capsys):
    """Flask and Django pass their own settings as ``environ``: the commands must not read os.environ."""
    for name in ("SHOPPRIVACY_DATABASE_URL", "SHOPPRIVACY_KEYSET", "SHOPPRIVACY_KEYSET_FILE"):
        monkeypatch.delenv(name, raising=False)
    environ = {"SHOPPRIVACY_DATABASE_URL": settings.database_url,
               "SHOPPRIVACY_KEYSET": settings.keyset.get_secret_value()}
    assert main(["renewals", "run", "--dry-run", "--until", "2026-11-02T00:00:00+00:00", "--json"],
                environ=environ) == 0
    assert json.loads(capsys.readouterr().out)["billed"] == 0
    assert main(["retention", "plan", "--json"], environ=environ) == 0
    assert any(line["rule"] == "sdk.outbox.done" for line in json.loads(capsys.readouterr().out))
    assert main(["retention", "plan"], environ={}) != 0  # no keyset in the given environment: refused


def test_a_permanent_skip_is_reported_once_not_every_run(env, capsys):
    add_subs(env, 1)
    env.add_subscription(
        customer_ref="c_zip", amount="9.90", currency="EUR",
        lines=[{"variant_id": "v1", "quantity": 1, "unit_price": "9.90", "requires_shipping": True}],
        interval={"unit": "month", "count": 1}, next_billing_at=T0,
        shipping_address={"name": "Jane Doe", "address1": "1 Main St", "zip": "69001", "country_code": "FR"})
    assert main(["renewals", "run", "--until", "2026-11-02T00:00:00+00:00"]) == 0
    first = capsys.readouterr().out
    assert "billed 1" in first and "skipped: incomplete_shipping_address x1" in first
    assert "shipping_address.address1 x1" in first and env.billing_count() == 1
    for _ in range(2):  # cron every 15 minutes: the same skip again, nothing billed -> quiet
        assert main(["renewals", "run", "--until", "2026-11-02T00:00:00+00:00"]) == 0
        assert capsys.readouterr().out == ""
    env.add_subscription(
        customer_ref="c_txt", amount="9.90", currency="EUR",
        lines=[{"variant_id": "v1", "quantity": 1, "unit_price": "9.90", "requires_shipping": True}],
        interval={"unit": "month", "count": 1}, next_billing_at=T0, shipping_address={"text": "somewhere"})
    assert main(["renewals", "run", "--until", "2026-11-02T00:00:00+00:00"]) == 0
    assert "skipped: incomplete_shipping_address x2" in capsys.readouterr().out  # a new skip speaks again
    assert env.billing_count() == 1
