"""Leases while delivering: a row is claimed just before its delivery and its lease is renewed while the
handler runs, so a second ``run-due`` never takes a row that is still being delivered."""

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from shopprivacy.settings import OutboxSettings
from shopprivacy.store import Outbox
from shopprivacy.store.schema import outbox as outbox_table


def _run_until_empty(ob: Outbox, stop_at: float, errors: list[BaseException]) -> None:
    """What cron does: run-due again and again until nothing is left (or the deadline passes)."""
    try:
        while time.monotonic() < stop_at:
            ob.deliver_due()
            counts = ob.counts()
            if not counts.get("pending") and not counts.get("delivering"):
                return
            time.sleep(0.05)
    except BaseException as exc:  # reported to the test thread
        errors.append(exc)


def _race(store, rows: int, delay, lease: float) -> Counter:
    """Two run-due in parallel threads, each its own Outbox on the same database; returns deliveries per row."""
    seen: Counter = Counter()
    lock = threading.Lock()

    def handler(d):
        time.sleep(delay(d.payload["n"]))
        with lock:
            seen[d.payload["n"]] += 1

    boxes = [Outbox(store, OutboxSettings(lease_seconds=lease)) for _ in range(2)]
    for ob in boxes:
        ob.register("slow", handler)
    with store.begin() as conn:
        for n in range(rows):
            boxes[0].enqueue(conn, "slow", {"n": n}, idempotency_key=f"k{n}")
    errors: list[BaseException] = []
    stop_at = time.monotonic() + 60
    threads = [threading.Thread(target=_run_until_empty, args=(ob, stop_at, errors)) for ob in boxes]
    for t in threads:
        t.start()
        time.sleep(0.1)  # the second run-due starts while the first is delivering
    for t in threads:
        t.join(90)
    assert not errors
    assert boxes[0].counts() == {"done": rows}
    return seen


def test_two_concurrent_run_due_with_slow_deliveries_deliver_every_row_once(store):
    seen = _race(store, rows=16, delay=lambda n: 0.2, lease=1.2)
    assert sorted(seen) == list(range(16))
    assert set(seen.values()) == {1}, {n: c for n, c in seen.items() if c > 1}


def test_a_delivery_longer_than_the_lease_keeps_its_row(store):
    seen = _race(store, rows=3, delay=lambda n: 2.5 if n == 0 else 0.05, lease=1.0)
    assert seen == Counter({0: 1, 1: 1, 2: 1})


def test_the_lease_is_renewed_while_the_handler_runs(store):
    ob = Outbox(store, OutboxSettings(lease_seconds=0.6))
    ob.add("t", {}, idempotency_key="k")
    leases = []

    def handler(d):
        for _ in range(3):
            time.sleep(0.45)
            with store.begin(write=False) as conn:
                leases.append(conn.execute(select(outbox_table.c.lease_until)).scalar_one())

    ob.register("t", handler)
    assert ob.deliver_due().delivered == 1
    assert leases == sorted(leases) and len(set(leases)) == 3  # pushed forward while the handler ran


@pytest.mark.parametrize("batch_size", [1, 50])
def test_rows_of_a_run_are_claimed_one_at_a_time(store, batch_size):
    ob = Outbox(store, OutboxSettings(batch_size=batch_size))
    for n in range(3):
        ob.add("t", {"n": n}, idempotency_key=f"k{n}")
    held = []

    def handler(d):
        with store.begin(write=False) as conn:
            held.append(conn.execute(select(outbox_table.c.idempotency_key)
                                     .where(outbox_table.c.status == "delivering")).scalars().all())

    ob.register("t", handler)
    assert ob.deliver_due().delivered == 3
    assert held == [["k0"], ["k1"], ["k2"]]  # rows not yet started never sit in a lease
