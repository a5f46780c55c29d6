import json
import os
import signal
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shopprivacy.errors import PlatformError, PurposeViolation, UnsupportedOperation
from shopprivacy.platforms import BillingResult
from shopprivacy.renewals.tables import renewal_attempts

from .conftest import T0, UNTIL, add_subs, spawn_worker, wait_for


def attempts(sp):
    with sp.store.begin(write=False) as conn:
        return {r.subscription_id: r for r in conn.execute(select(renewal_attempts))}


def test_run_bills_each_due_subscription_once_and_cleans_orders(sp, shop):
    ids = add_subs(shop, 5)
    report = sp.renewals.run(shop, until=UNTIL)
    assert report.billed == 5 and report.seen == 5 and report.cleaned_orders == 5
    assert report.dropped == {}  # the minimal fetch asked only for allow-listed fields
    assert shop.billing_count() == 5
    for sid in ids:
        (order,) = shop.orders_of(sid)
        assert order["ip_address"] is None and order["user_agent"] is None and order["attribution"] is None
        assert shop.subscription(sid)["next_billing_at"] > UNTIL  # moved on a month
    rows = attempts(sp)
    assert {r.status for r in rows.values()} == {"billed"} and all(r.cleaned_fields == 3 for r in rows.values())
    again = sp.renewals.run(shop, until=UNTIL)
    assert again.seen == 0 and shop.billing_count() == 5
    entry = sp.audit.entries(action="renewal.run")[0]
    assert entry.meta["billed"] == 5 and "ip_address" not in entry.fields


def test_charge_callable_gets_the_guarded_view_and_key(sp, shop):
    add_subs(shop, 3, shipping=False)
    seen = []

    def charge(record, *, idempotency_key):
        seen.append((record.subscription_id, idempotency_key, record.shipping_address))
        return BillingResult(attempt_id="a_" + record.subscription_id, status="pending")

    report = sp.renewals.run(shop, charge=charge, until=UNTIL)
    assert report.pending == 3 and shop.billing_count() == 0
    assert all(key.startswith("rn_") and addr is None for _, key, addr in seen)
    # a pending attempt is asked again next run, with the same key
    keys = {sid: key for sid, key, _ in seen}
    sp.renewals.run(shop, charge=charge, until=UNTIL)
    assert all(keys[sid] == key for sid, key, _ in seen[3:]) and len(seen) == 6

    def nosy(record, *, idempotency_key):
        return record.ip_address

    add_subs(shop, 1, start=T0 + timedelta(hours=1))
    with pytest.raises(PurposeViolation):
        sp.renewals.run(shop, charge=nosy, until=UNTIL)


def test_platform_errors_skip_one_subscription_not_the_run(sp, shop):
    add_subs(shop, 3)
    calls = []

    def flaky(record, *, idempotency_key):
        calls.append(idempotency_key)
        if len(calls) == 1:
            raise PlatformError("timeout", retryable=True)
        if len(calls) == 2:
            raise PlatformError("card declined", retryable=False)
        return shop.create_billing_attempt(record.subscription_id, idempotency_key=idempotency_key,
                                           origin_time=T0)

    report = sp.renewals.run(shop, charge=flaky, until=UNTIL)
    assert report.errors == 2 and report.billed == 1
    statuses = sorted(r.status for r in attempts(sp).values())
    assert statuses == ["billed", "claimed", "failed"]

    retry = sp.renewals.run(shop, charge=flaky, until=UNTIL)  # the retryable one goes again, same key

    assert retry.billed == 1 and retry.already_done == 1 and calls[3] == calls[0]


def test_receipt_email_can_be_encrypted_in_the_view(sp, shop):
    add_subs(shop, 2)
    seen = []

    def charge(record, *, idempotency_key):
        seen.append(record.email)
        return BillingResult(attempt_id=idempotency_key, status="pending")

    sp.renewals.run(shop, charge=charge, until=UNTIL, encrypt_email=lambda v, row: "enc:" + row)
    assert seen and all(e.startswith("enc:s_") for e in seen)


def test_bad_subscriptions_are_skipped_with_reasons(sp, shop):
    add_subs(shop, 2)
    sid = add_subs(shop, 1, shipping=True)[0]
    with shop.engine.begin() as conn:
        conn.execute(shop.subscriptions.update().where(shop.subscriptions.c.subscription_id == sid)
                     .values(shipping_address=None))
    report = sp.renewals.run(shop, until=UNTIL)
    assert report.billed == 2 and report.skipped == {"missing_shipping_address": 1}


def test_dry_run_bills_nothing(sp, shop):
    add_subs(shop, 4)
    lines = []
    report = sp.renewals.run(shop, until=UNTIL, dry_run=True, out=lines.append)
    assert report.would_bill == 4 and report.billed == 0 and shop.billing_count() == 0 and not attempts(sp)
    assert len(lines) == 4 and all(line.startswith("would bill s_") for line in lines)
    assert not any("@" in line for line in lines)


def test_adapter_without_subscriptions_is_unsupported(sp):
    class Bare:
        name = "bare"

        def close(self):
            pass

    with pytest.raises(UnsupportedOperation, match="bare"):
        sp.renewals.run(Bare(), until=UNTIL)


def test_logs_carry_pseudonyms_only(sp, shop, caplog):
    add_subs(shop, 2)
    with caplog.at_level("INFO", logger="shopprivacy.renewals"):
        sp.renewals.run(shop, until=UNTIL)
    text = caplog.text
    assert "c_0" not in text and "example.com" not in text and "p_" in text


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_kill_9_between_billing_and_recording_never_bills_twice(sp, shop, tmp_path, db_url, keyset):
    ids = add_subs(shop, 12)
    marker = tmp_path / "marker"
    proc = spawn_worker(tmp_path, db_url, keyset, marker, 5, 0.0)
    wait_for(marker, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert shop.billing_count() == 5
    claimed = [r for r in attempts(sp).values() if r.status == "claimed"]
    assert len(claimed) == 1  # the durable record of the interrupted renewal
    report = sp.renewals.run(shop, until=UNTIL)
    assert report.billed == 8 and report.seen == 7  # 1 settled with its stored key + 7 still due
    assert shop.billing_count() == 12
    for sid in ids:
        assert len(shop.orders_of(sid)) == 1
    assert {r.status for r in attempts(sp).values()} == {"billed"}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_two_workers_split_the_work_without_overlap(sp, shop, tmp_path, db_url, keyset):
    n = 60
    with shop.engine.begin() as conn:
        ids = add_subs(shop, n, conn=conn)
    procs = [spawn_worker(tmp_path, db_url, keyset, tmp_path / f"never{i}", 10**9, 0.01) for i in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=150)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    billed = [o["billed"] for o in outs]
    assert sum(billed) == n and all(b > 0 for b in billed), outs
    assert shop.billing_count() == n
    with shop.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(shop.orders)).scalar_one() == n
    assert all(len(shop.orders_of(sid)) == 1 for sid in ids[:5])


@pytest.mark.timeout(180)
def test_two_threads_of_one_process_never_bill_the_same_subscription(sp, shop):
    """A thread-pool task queue runs two renewal runs in one process at once (a barrier holds each run's first
    charge until the other run is charging too): the claims tell the runs apart."""
    import threading

    n = 40
    with shop.engine.begin() as conn:
        add_subs(shop, n, conn=conn)
    together, local = threading.Barrier(2, timeout=60), threading.local()
    charged: list[str] = []
    reports, errors = [], []

    def charge(record, *, idempotency_key):
        if not getattr(local, "met", False):
            local.met = True
            together.wait()  # both runs are inside a charge now
        charged.append(record.subscription_id)
        return shop.create_billing_attempt(record.subscription_id, idempotency_key=idempotency_key,
                                           origin_time=record.next_billing_at)

    def run() -> None:
        try:
            reports.append(sp.renewals.run(shop, until=UNTIL, charge=charge))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=150)
    assert errors == [] and len(reports) == 2
    assert sorted(charged) == sorted(set(charged)) and len(charged) == n  # each subscription charged once
    assert sum(r.counts()["billed"] for r in reports) == n and all(r.counts()["billed"] for r in reports)
