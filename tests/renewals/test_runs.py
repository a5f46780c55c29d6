"""Every renewal run leaves its ``renewal.run`` audit entry: completed, aborted, or crashed (written later)."""

import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
from sqlalchemy import select

from shopprivacy.cli import main
from shopprivacy.renewals.runs import RUN_JOB_PREFIX, RunLog
from shopprivacy.renewals.tables import renewal_attempts
from shopprivacy.store import Jobs
from shopprivacy.store.schema import jobs as jobs_table
from shopprivacy.testing import FakeClock

from .conftest import UNTIL, add_subs, spawn_worker, wait_for


def run_entries(sp):
    return [e.meta for e in sp.audit.entries(action="renewal.run")]


def open_run_jobs(sp):
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(jobs_table.c.name).where(jobs_table.c.name.startswith(RUN_JOB_PREFIX))).all()


def dead_owner():
    """An owner on this host whose process has exited."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return f"{socket.gethostname()[:80]}:{proc.stdout.strip()}:deadbeef"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_run_killed_9_gets_its_entry_on_recovery(sp, shop, tmp_path, db_url, keyset, monkeypatch, capsys):
    add_subs(shop, 12)
    marker = tmp_path / "marker"
    proc = spawn_worker(tmp_path, db_url, keyset, marker, 5, 0.0)
    wait_for(marker, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run_entries(sp) == [] and len(open_run_jobs(sp)) == 1  # the killed run left its record open

    recovered = sp.renewals.recover(shop)  # recovery of the dead holder's claims closes its run too
    assert recovered.billed == 1 and shop.billing_count() == 5
    (crashed,) = run_entries(sp)
    assert crashed["outcome"] == "crashed" and crashed["started_at"] and crashed["recovered_at"]
    assert (crashed["billed"], crashed["interrupted"], crashed["failed"], crashed["pending"]) == (4, 1, 0, 0)
    assert open_run_jobs(sp) == []

    report = sp.renewals.run(shop, until=UNTIL)
    assert report.billed == 7 and shop.billing_count() == 12
    assert [m["outcome"] for m in run_entries(sp)] == ["crashed", "completed"]  # written once, not again
    sp.audit.verify()
    monkeypatch.setenv("SHOPPRIVACY_DATABASE_URL", db_url)
    monkeypatch.setenv("SHOPPRIVACY_KEYSET", keyset.to_json())
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_next_run_writes_the_entry_of_a_run_killed_9(sp, shop, tmp_path, db_url, keyset):
    add_subs(shop, 6)
    marker = tmp_path / "marker"
    proc = spawn_worker(tmp_path, db_url, keyset, marker, 2, 0.0)
    wait_for(marker, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    report = sp.renewals.run(shop, until=UNTIL)
    assert report.billed == 5 and shop.billing_count() == 6
    crashed, completed = run_entries(sp)
    assert (crashed["outcome"], crashed["billed"], crashed["interrupted"]) == ("crashed", 1, 1)
    assert (completed["outcome"], completed["billed"]) == ("completed", 5)
    assert sp.audit.verify().entries >= 2


def test_completed_run_writes_one_entry_and_forgets_its_record(sp, shop):
    add_subs(shop, 2)
    sp.renewals.run(shop, until=UNTIL)
    (entry,) = run_entries(sp)
    assert entry["outcome"] == "completed" and entry["billed"] == 2 and "would_bill" not in entry
    assert open_run_jobs(sp) == []


def test_aborted_run_writes_its_entry_and_lets_its_claims_go(sp, shop):
    add_subs(shop, 2)

    def buggy(record, *, idempotency_key):
        raise KeyError("gateway")

    with pytest.raises(KeyError):
        sp.renewals.run(shop, charge=buggy, until=UNTIL)
    (entry,) = run_entries(sp)
    assert (entry["outcome"], entry["error"], entry["seen"]) == ("aborted", "KeyError", 1)
    assert open_run_jobs(sp) == []
    with sp.store.begin(write=False) as conn:
        (claim,) = conn.execute(select(renewal_attempts)).all()
    assert claim.status == "claimed" and claim.claimed_until <= sp.clock()  # the next run need not wait for it
    report = sp.renewals.run(shop, until=UNTIL)  # settled with its stored key, then the other one is billed
    assert report.billed == 2 and shop.billing_count() == 2


def test_run_of_a_live_process_is_not_taken_for_crashed(sp):
    runs = sp.renewals.runs
    live = runs.start(f"{socket.gethostname()[:80]}:{os.getpid()}:cafe0001")
    assert runs.close_crashed() == 0 and len(open_run_jobs(sp)) == 1
    runs.close(live, {"seen": 0}, outcome="completed")
    assert [m["outcome"] for m in run_entries(sp)] == ["completed"]


def test_run_whose_lease_ran_out_is_closed_once_with_its_checkpoint(sp, store):
    clock = FakeClock()
    runs = RunLog(store, sp.audit, Jobs(store, clock=clock), clock=clock)
    run = runs.start("other-host:4242:cafe0002")  # another host: only the lease tells
    run.progress({"seen": 7, "billed": 3, "errors": 1}, force=True)
    assert runs.close_crashed() == 0
    clock.advance(minutes=6)
    barrier, closed = threading.Barrier(2, timeout=30), []

    def close():
        barrier.wait()
        closed.append(runs.close_crashed())

    threads = [threading.Thread(target=close) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(closed) == [0, 1]  # two recoverers at once: one entry
    (entry,) = run_entries(sp)
    # seen and errors from its checkpoint; billing counts from its claims (it holds none here)
    assert (entry["outcome"], entry["seen"], entry["errors"], entry["billed"]) == ("crashed", 7, 1, 0)
    sp.audit.verify()


def test_crashed_run_is_closed_by_holder_death_alone(sp):
    runs = sp.renewals.runs
    runs.start(dead_owner())  # its lease (15 minutes) is still running, but its process is gone
    assert runs.close_crashed() == 1 and runs.close_crashed() == 0
    assert [m["outcome"] for m in run_entries(sp)] == ["crashed"]


def test_damaged_checkpoint_does_not_block_the_entry(sp, store):
    runs = sp.renewals.runs
    run = runs.start(dead_owner())
    with store.begin() as conn:
        conn.execute(jobs_table.update().where(jobs_table.c.name == run.job.name)
                     .values(checkpoint={"counts": {"seen": "lots", "billed": 2, "x" * 300: 1}}))
    assert runs.close_crashed() == 1
    (entry,) = run_entries(sp)
    assert entry["outcome"] == "crashed" and "seen" not in entry and entry["billed"] == 0  # claims decide billed
