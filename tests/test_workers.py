"""Several worker processes against one database: renewals in shards, outbox deliveries side by side, and a worker
killed with -9 in the middle. Real subprocesses; small sizes (the 1M-row numbers are in benchmarks/bench_workers.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from shopprivacy.cli import main
from shopprivacy.errors import InvalidInput
from shopprivacy.platforms import BillingResult
from shopprivacy.platforms.local import LocalShop
from shopprivacy.renewals.split import Shard
from shopprivacy.renewals.tables import renewal_attempts
from shopprivacy.store.schema import outbox
from shopprivacy.workers import add_up, check_count

from .renewals.conftest import add_subs

pytestmark = [pytest.mark.db, pytest.mark.timeout(240)]
ROOT = Path(__file__).parents[1]
NOW = datetime.now(timezone.utc)


@pytest.fixture
def env(db_url, keyset, store):
    """What a worker process gets: SHOPPRIVACY_* variables naming the test's database (migrated) and the local
    shop in it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOPPRIVACY_")}
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return {**base, "PYTHONPATH": path, "SHOPPRIVACY_DATABASE_URL": db_url,
            "SHOPPRIVACY_KEYSET": keyset.to_json(),
            "SHOPPRIVACY_PLATFORM_OPTIONS": json.dumps({"database_url": db_url})}


@pytest.fixture
def shop(db_url):
    s = LocalShop.from_url(db_url)
    yield s
    s.close()


def cli(env, *argv):
    return subprocess.Popen([sys.executable, "-m", "shopprivacy", *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def billed_once(shop, store, n):
    with shop.engine.connect() as conn:
        per_sub = conn.execute(select(shop.orders.c.subscription_id, func.count())
                               .group_by(shop.orders.c.subscription_id)).all()
    with store.begin(write=False) as conn:
        claims = conn.execute(select(renewal_attempts.c.status)).scalars().all()
    assert shop.billing_count() == n and len(per_sub) == n and {c for _, c in per_sub} == {1}
    assert len(claims) == n and set(claims) == {"billed"}


def test_shards_split_the_subscriptions_between_them():
    ids = [f"s_{i:04x}" for i in range(2000)]
    owners = [[Shard(i, 4).owns(sid) for i in range(4)] for sid in ids]
    assert all(sum(o) == 1 for o in owners)  # each subscription in exactly one share
    assert all(400 < sum(o[i] for o in owners) < 600 for i in range(4))  # shares of about a quarter
    assert Shard.parse(" 3/4 ") == Shard(3, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "0/0", "0/1001"):
        with pytest.raises(InvalidInput):
            Shard.parse(bad)


def test_workers_counts_and_sums():
    assert add_up([{"billed": 2, "tasks": {"rights": {"processed": 1}}, "error": None},
                   {"billed": 3, "tasks": {"rights": {"processed": 2}}, "error": "x"}]) == {
        "billed": 5, "tasks": {"rights": {"processed": 3}}, "error": None}
    with pytest.raises(InvalidInput, match="--workers takes 1 to 64"):
        check_count(0)


def test_a_sharded_run_takes_over_the_share_of_a_worker_that_never_came(sp, shop, monkeypatch):
    add_subs(shop, 30, start=NOW - timedelta(days=1))
    charged = []

    def charge(record, *, idempotency_key):  # the shop's own billing: its subscriptions stay due
        charged.append(record.subscription_id)
        return BillingResult(attempt_id=idempotency_key, status="ready")

    report = sp.renewals.run(shop, charge=charge, shard=Shard(0, 3))  # workers 1 and 2 never started
    assert report.billed == 30 and report.seen == 30 and report.errors == 0
    claims = []
    real = type(sp.renewals)._claim
    monkeypatch.setattr(type(sp.renewals), "_claim", lambda self, *a: claims.append(a) or real(self, *a))
    again = sp.renewals.run(shop, charge=charge, shard=Shard(1, 3))
    assert again.billed == 0 and again.already_done == 30 and again.seen == 30
    assert claims == [] and sorted(charged) == sorted(set(charged))  # settled pages: one query, no claim each


def test_renewals_run_with_workers_bills_each_subscription_once(env, shop, store, capsys):
    n = 90
    with shop.engine.begin() as conn:
        add_subs(shop, n, start=NOW - timedelta(days=1), conn=conn)
    assert main(["renewals", "run", "--workers", "3", "--json"], environ=env) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts["billed"] == n and 0 < counts["seen"] <= n and counts["errors"] == 0, counts
    billed_once(shop, store, n)


def test_kill_9_of_one_renewal_worker_loses_nothing_and_bills_nothing_twice(env, shop, store, sp):
    n = 400
    with shop.engine.begin() as conn:
        add_subs(shop, n, start=NOW - timedelta(days=1), conn=conn)
    victim = cli(env, "renewals", "run", "--json", "--shard", "0/2")
    deadline = time.monotonic() + 120

    def victims_claims() -> int:  # the victim's own work: it must be well into its run when it dies
        with store.begin(write=False) as conn:
            return int(conn.execute(select(func.count()).select_from(renewal_attempts).where(
                renewal_attempts.c.owner.like(f"%:{victim.pid}:%"))).scalar_one())

    def wait_for(claims: int) -> None:
        while victims_claims() < claims:
            assert victim.poll() is None and time.monotonic() < deadline, victim.communicate()
            time.sleep(0.005)

    wait_for(1)  # the victim runs; the survivor starts beside it (alone, the victim cannot finish first)
    survivor = cli(env, "renewals", "run", "--json", "--shard", "1/2")
    wait_for(5)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    out, err = survivor.communicate(timeout=180)
    assert survivor.returncode == 0, err
    assert shop.billing_count() < n or json.loads(out.splitlines()[-1])["billed"] > n // 2  # the survivor went on
    # the next run settles the dead worker's open claim with its stored key, and bills whatever is left
    after = cli(env, "renewals", "run", "--json")
    out, err = after.communicate(timeout=180)
    assert after.returncode == 0, err
    billed_once(shop, store, n)
    with store.begin(write=False) as conn:
        runs = conn.execute(select(func.count()).select_from(renewal_attempts)).scalar_one()
    assert runs == n
    outcomes = [e.meta["outcome"] for e in sp.audit.entries(action="renewal.run")]
    assert sorted(outcomes) == ["completed", "completed", "crashed"]  # the killed run got its entry too


#: An outbox worker: delivers ``bench.state`` rows to a "platform" table that applies each idempotency key once
#: (as the platforms do), logging the order it applied states in; the worker that delivers row ``hang_at`` writes
#: its pid to ``marker`` and hangs there.
OUTBOX_WORKER = r"""
import os, sys, time
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from shopprivacy.settings import OutboxSettings
from shopprivacy.store import Outbox, Store
url, hang_at, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
store = Store.from_url(url)
md = MetaData()
applied = Table("test_platform_applied", md, Column("seq", Integer, primary_key=True, autoincrement=True),
                Column("idempotency_key", String(200), unique=True), Column("ordering_key", String(200)),
                Column("row_id", Integer), Column("pid", Integer))
outbox = Outbox(store, OutboxSettings(lease_seconds=2))
def deliver(d):
    if d.id == hang_at:
        open(marker + ".tmp", "w").write(str(os.getpid()))
        os.replace(marker + ".tmp", marker)
        time.sleep(600)
    time.sleep(0.002)  # the platform's answer
    with store.begin() as conn:
        if conn.execute(select(applied.c.seq).where(applied.c.idempotency_key == d.idempotency_key)).first():
            return
        conn.execute(insert(applied).values(idempotency_key=d.idempotency_key, ordering_key=d.payload["key"],
                                            row_id=d.id, pid=os.getpid()))
outbox.register("bench.state", deliver)
report = outbox.deliver_due()
print(report.delivered)
"""


def test_kill_9_of_one_outbox_worker_loses_nothing_does_nothing_twice_and_keeps_each_keys_order(
        store, db_url, tmp_path, sp):
    applied = Table("test_platform_applied", MetaData(), Column("seq", Integer, primary_key=True, autoincrement=True),
                    Column("idempotency_key", String(200), unique=True), Column("ordering_key", String(200)),
                    Column("row_id", Integer), Column("pid", Integer))
    applied.metadata.create_all(store.engine)
    keys = [f"subject:{k}" for k in range(20)]
    with store.begin() as conn:
        for i in range(300):  # 15 states of each of 20 keys, interleaved
            sp.outbox.enqueue(conn, "bench.state", {"key": keys[i % 20], "n": i}, idempotency_key=f"row-{i}",
                              ordering_key=keys[i % 20])
    with store.begin(write=False) as conn:
        first = conn.execute(select(func.min(outbox.c.id))).scalar_one()
    script = tmp_path / "outbox_worker.py"
    script.write_text(OUTBOX_WORKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    marker = tmp_path / "hanging"
    hang_at = first + 299  # the newest state of its key: the only row of that key that is ever delivered

    def worker(hang):
        return subprocess.Popen([sys.executable, str(script), db_url, str(hang), str(marker)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    procs = [worker(hang_at) for _ in range(3)]
    deadline = time.monotonic() + 120
    while not (marker.exists() and marker.read_text()):
        assert time.monotonic() < deadline, [p.poll() for p in procs]
        time.sleep(0.01)
    (victim,) = [p for p in procs if p.pid == int(marker.read_text())]
    os.kill(victim.pid, signal.SIGKILL)  # mid-delivery: its row stays leased until the lease runs out
    victim.wait()
    for p in procs:
        if p is not victim:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
    time.sleep(2.1)  # the dead worker's lease runs out
    again = worker(-1)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    with store.begin(write=False) as conn:
        statuses = dict(conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all())
        rows = conn.execute(select(applied).order_by(applied.c.seq)).all()
    assert statuses.get("done", 0) + statuses.get("superseded", 0) == 300 and set(statuses) <= {"done", "superseded"}
    assert len({r.idempotency_key for r in rows}) == len(rows)  # nothing applied twice
    for key in keys:  # per key: states applied oldest first, ending with the newest one
        ids = [r.row_id for r in rows if r.ordering_key == key]
        assert ids == sorted(ids) and ids[-1] == max(first + i for i in range(300) if keys[i % 20] == key), key

