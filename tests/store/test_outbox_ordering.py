"""Rows sharing an ordering key: delivered one at a time, oldest first, and a newer row supersedes the older
ones still waiting, so a late retry never delivers an outdated state after a newer one."""

import threading
import time

import pytest
from sqlalchemy import select

from shopprivacy.errors import InvalidInput, PlatformError
from shopprivacy.settings import OutboxSettings
from shopprivacy.store import Outbox
from shopprivacy.store.schema import outbox as outbox_table

KEY = "email.marketing_consent:s_pseudonym:newsletter"


@pytest.fixture
def outbox(store, clock):
    return Outbox(store, OutboxSettings(max_attempts=4, base_delay_seconds=10, max_delay_seconds=1000,
                                        lease_seconds=60), clock=clock)


def status(store, key):
    with store.begin(write=False) as conn:
        return conn.execute(select(outbox_table.c.status).where(outbox_table.c.idempotency_key == key)).scalar_one()


class Platform:
    """Applies whatever state arrives last (the worst case: no timestamp check of its own); the first
    ``failures`` calls fail with a retryable error."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.state: str | None = None
        self.received: list[str] = []

    def __call__(self, delivery):
        self.received.append(delivery.payload["state"])
        if self.failures:
            self.failures -= 1
            raise PlatformError("the platform is unavailable")
        self.state = delivery.payload["state"]


def test_a_late_retry_of_an_old_state_never_lands_after_a_newer_one(outbox, store, clock):
    platform = Platform(failures=1)
    outbox.register("consent", platform)
    outbox.add("consent", {"state": "subscribed"}, idempotency_key="in", ordering_key=KEY)
    assert outbox.deliver_due().retried == 1  # the opt-in fails once and waits for its backoff
    clock.advance(seconds=1)
    outbox.add("consent", {"state": "unsubscribed"}, idempotency_key="out", ordering_key=KEY)
    report = outbox.deliver_due()
    assert report.delivered == 1 and report.superseded == 1
    clock.advance(hours=1)  # well past the opt-in's backoff
    assert outbox.deliver_due().delivered == 0
    assert platform.state == "unsubscribed"
    assert platform.received == ["subscribed", "unsubscribed"]
    assert status(store, "in") == "superseded" and status(store, "out") == "done"
    assert outbox.counts() == {"done": 1, "superseded": 1}


def test_only_the_newest_of_several_waiting_rows_is_delivered(outbox, store):
    platform = Platform()
    outbox.register("consent", platform)
    for i, state in enumerate(["subscribed", "unsubscribed", "subscribed", "unsubscribed"]):
        outbox.add("consent", {"state": state}, idempotency_key=f"k{i}", ordering_key=KEY)
    report = outbox.deliver_due()
    assert (report.delivered, report.superseded) == (1, 3)
    assert platform.received == ["unsubscribed"]
    assert [status(store, f"k{i}") for i in range(4)] == ["superseded"] * 3 + ["done"]


def test_a_row_waits_while_an_older_row_of_its_key_is_being_delivered(outbox, store, clock):
    platform = Platform()
    outbox.register("consent", platform)
    outbox.add("consent", {"state": "subscribed"}, idempotency_key="in", ordering_key=KEY)
    in_flight = outbox._claim("other-worker:1")  # another run-due is delivering the opt-in right now
    outbox.add("consent", {"state": "unsubscribed"}, idempotency_key="out", ordering_key=KEY)
    assert outbox.deliver_due().delivered == 0  # not while the older row is in flight
    assert status(store, "out") == "pending"
    outbox._finish(in_flight.id, "other-worker:1", status="done")
    assert outbox.deliver_due().delivered == 1
    assert platform.received == ["unsubscribed"]


def test_an_older_row_whose_worker_died_is_superseded_not_redelivered(outbox, store, clock):
    platform = Platform()
    outbox.register("consent", platform)
    outbox.add("consent", {"state": "subscribed"}, idempotency_key="in", ordering_key=KEY)
    outbox._claim("dead-worker:1")
    outbox.add("consent", {"state": "unsubscribed"}, idempotency_key="out", ordering_key=KEY)
    clock.advance(seconds=61)  # the dead worker's lease ran out
    assert outbox.deliver_due().delivered == 1
    clock.advance(hours=1)
    outbox.deliver_due()
    assert platform.received == ["unsubscribed"]
    assert status(store, "in") == "superseded"


def test_a_requeued_dead_letter_older_than_a_delivered_row_is_superseded(outbox, store, clock):
    outbox.register("consent", lambda d: (_ for _ in ()).throw(PlatformError("gone", retryable=False)))
    outbox.add("consent", {"state": "subscribed"}, idempotency_key="in", ordering_key=KEY)
    assert outbox.deliver_due().dead == 1
    platform = Platform()
    outbox.register("consent", platform)
    outbox.add("consent", {"state": "unsubscribed"}, idempotency_key="out", ordering_key=KEY)
    assert outbox.deliver_due().delivered == 1
    with store.begin(write=False) as conn:
        dead_id = conn.execute(select(outbox_table.c.id).where(outbox_table.c.idempotency_key == "in")).scalar_one()
    outbox.requeue(dead_id)
    report = outbox.deliver_due()
    assert (report.delivered, report.superseded) == (0, 1)
    assert platform.received == ["unsubscribed"]


def test_keys_are_independent_and_rows_without_a_key_are_unaffected(outbox, store):
    platform = Platform()
    outbox.register("consent", platform)
    outbox.add("consent", {"state": "a"}, idempotency_key="a1", ordering_key=KEY)
    outbox.add("consent", {"state": "b"}, idempotency_key="b1", ordering_key=KEY.replace("newsletter", "offers"))
    outbox.add("consent", {"state": "c"}, idempotency_key="c1")
    outbox.add("consent", {"state": "d"}, idempotency_key="c2")
    report = outbox.deliver_due()
    assert (report.delivered, report.superseded) == (4, 0)
    assert sorted(platform.received) == ["a", "b", "c", "d"]


def test_a_repeated_idempotency_key_does_not_supersede(outbox, store):
    platform = Platform()
    outbox.register("consent", platform)
    assert outbox.add("consent", {"state": "subscribed"}, idempotency_key="in", ordering_key=KEY)
    assert not outbox.add("consent", {"state": "subscribed"}, idempotency_key="in", ordering_key=KEY)
    assert outbox.deliver_due().delivered == 1 and status(store, "in") == "done"


def test_bad_ordering_key_is_refused(outbox):
    for bad in ("", "k" * 201):
        with pytest.raises(InvalidInput):
            outbox.add("consent", {}, idempotency_key="k", ordering_key=bad)


def test_two_concurrent_run_due_keep_each_key_in_order_while_new_states_arrive(store):
    """Per key: deliveries never overlap, never go back to an older state, and end on the newest one."""
    keys, states = 2, 8
    lock = threading.Lock()
    in_flight: set[str] = set()
    delivered: dict[str, list[int]] = {f"k{k}": [] for k in range(keys)}
    overlaps: list[str] = []

    def handler(d):
        key = d.payload["key"]
        with lock:
            if key in in_flight:
                overlaps.append(key)
            in_flight.add(key)
        time.sleep(0.05)
        with lock:
            in_flight.discard(key)
            delivered[key].append(d.payload["seq"])

    boxes = [Outbox(store, OutboxSettings(lease_seconds=5)) for _ in range(2)]
    for ob in boxes:
        ob.register("state", handler)

    def add(k, seq):
        boxes[0].add("state", {"key": f"k{k}", "seq": seq}, idempotency_key=f"k{k}:{seq}", ordering_key=f"state:k{k}")

    for k in range(keys):  # a backlog: several states of one key, one after the other
        for seq in range(states // 2):
            add(k, seq)

    def produce():  # and newer states arriving while the older ones are being delivered
        for seq in range(states // 2, states):
            time.sleep(0.04)
            for k in range(keys):
                add(k, seq)

    def work(ob):
        stop_at = time.monotonic() + 60
        while time.monotonic() < stop_at and (producer.is_alive() or ob.counts().get("pending")):
            ob.deliver_due()
            time.sleep(0.01)

    producer = threading.Thread(target=produce)
    workers = [threading.Thread(target=work, args=(ob,)) for ob in boxes]
    for t in (*workers, producer):
        t.start()
    for t in (producer, *workers):
        t.join(90)
    assert not overlaps
    for key, seqs in delivered.items():
        assert seqs == sorted(set(seqs)), key  # strictly newer each time, never an older state after a newer
        assert seqs[-1] == states - 1, key  # the platform ends on the newest state
    counts = boxes[0].counts()
    assert counts.get("done", 0) + counts.get("superseded", 0) == keys * states
    assert set(counts) <= {"done", "superseded"}
