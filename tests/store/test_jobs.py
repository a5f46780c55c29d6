import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, select

from shopprivacy.errors import ConflictError, JobBusy
from shopprivacy.store import Jobs
from shopprivacy.store.jobs import holder_is_dead


@pytest.fixture
def jobs(store, clock):
    return Jobs(store, lease=timedelta(minutes=1), clock=clock)


def test_fresh_job_has_no_checkpoint_and_finishes(jobs, store):
    with jobs.run("j") as job:
        assert job.checkpoint is None and not job.resumed
        with store.begin() as conn:
            job.save(conn, {"after": 10}, processed=10)
    st = jobs.status("j")
    assert st["status"] == "done" and st["processed"] == 10 and st["lease_owner"] is None


def test_exception_leaves_job_resumable(jobs):
    with pytest.raises(RuntimeError), jobs.run("j") as job:
        job.save_now({"after": 5}, processed=5)
        raise RuntimeError("crash")
    again = jobs.acquire("j")
    assert again.resumed and again.checkpoint == {"after": 5} and again.processed == 5
    jobs.finish(again)
    fresh = jobs.acquire("j")  # a finished job starts over
    assert not fresh.resumed and fresh.checkpoint is None


def test_restart_ignores_checkpoint(jobs):
    h = jobs.acquire("j")
    h.save_now({"after": 1})
    jobs.release(h)
    assert jobs.acquire("j", restart=True).checkpoint is None


def test_live_lease_blocks_other_workers_until_it_expires(jobs, clock):
    h = jobs.acquire("j", owner="otherhost:1")
    h.save_now({"after": 3})
    with pytest.raises(JobBusy):
        jobs.acquire("j", owner="thirdhost:2")
    clock.advance(minutes=2)
    taken = jobs.acquire("j", owner="thirdhost:2")
    assert taken.resumed and taken.checkpoint == {"after": 3}
    with pytest.raises(JobBusy):
        h.save_now({"after": 4})  # the old holder lost its lease
    with pytest.raises(ConflictError):
        jobs.finish(h)


def test_dead_holder_on_this_host_is_taken_over_at_once(jobs):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    import socket

    dead_owner = f"{socket.gethostname()[:80]}:{proc.pid}"
    assert holder_is_dead(dead_owner)
    assert not holder_is_dead(f"{socket.gethostname()[:80]}:{os.getpid()}")
    assert not holder_is_dead("elsewhere:1")
    # the current form carries a nonce per lease: the process part still decides
    assert holder_is_dead(f"{dead_owner}:9f3a01bc")
    assert not holder_is_dead(f"{socket.gethostname()[:80]}:{os.getpid()}:9f3a01bc")
    assert not holder_is_dead(None) and not holder_is_dead("") and not holder_is_dead("host-only")
    jobs.acquire("j", owner=dead_owner).save_now({"after": 7})
    assert jobs.acquire("j").checkpoint == {"after": 7}


def test_abandoned_lists_dead_or_expired_running_jobs_of_a_prefix(jobs, store, clock):
    jobs.acquire("run:a", owner="otherhost:1:aa")
    jobs.acquire("other:b", owner="otherhost:1:bb")
    finished = jobs.acquire("run:c", owner="otherhost:1:cc")
    jobs.finish(finished)
    assert jobs.abandoned("run:") == []  # live leases
    clock.advance(minutes=2)
    (row,) = jobs.abandoned("run:")  # only the running one of the prefix
    assert row["name"] == "run:a"
    assert jobs.abandoned("run%") == [] and jobs.abandoned("run_") == []  # the prefix is literal


def test_remove_abandoned_only_when_unchanged_and_once(jobs, store, clock):
    h = jobs.acquire("run:a", owner="otherhost:1:aa")
    clock.advance(minutes=2)
    (stale,) = jobs.abandoned("run:")
    h.save_now({"n": 1})  # its holder came back after the list was read
    with store.begin() as conn:
        assert not jobs.remove_abandoned(conn, stale)
    clock.advance(minutes=2)
    (row,) = jobs.abandoned("run:")
    with store.begin() as conn:
        assert jobs.remove_abandoned(conn, row)
    with store.begin() as conn:
        assert not jobs.remove_abandoned(conn, row)  # a second recoverer finds nothing to take
        assert not jobs.remove(conn, h)  # and the old holder learns its record is gone
    assert jobs.status("run:a") is None


WORKER = textwrap.dedent("""
    import sys, time
    from sqlalchemy import Column, Integer, MetaData, Table, insert
    from shopprivacy.store import Jobs, Store
    url, total = sys.argv[1], int(sys.argv[2])
    store = Store.from_url(url)
    work = Table("job_work", MetaData(), Column("n", Integer))
    with Jobs(store).run("kill9-test") as job:
        after = (job.checkpoint or {}).get("after", 0)
        while after < total:
            batch = list(range(after, min(after + 10, total)))
            with store.begin() as conn:
                conn.execute(insert(work), [{"n": n} for n in batch])
                job.save(conn, {"after": batch[-1] + 1}, processed=len(batch))
            after = batch[-1] + 1
            time.sleep(0.01)
    print("finished", flush=True)
""")


@pytest.mark.slow
def test_kill_9_resumes_from_checkpoint_without_loss_or_repeat(store, db_url, tmp_path):
    work = Table("job_work", MetaData(), Column("n", Integer))
    work.metadata.create_all(store.engine)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    total = 2000
    proc = subprocess.Popen([sys.executable, str(script), db_url, str(total)])

    def count():
        with store.begin(write=False) as conn:
            return conn.execute(select(func.count()).select_from(work)).scalar_one()

    deadline = time.monotonic() + 60
    while count() < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = count()
    assert 200 <= done_before < total, "the worker must be killed mid-way"
    out = subprocess.run([sys.executable, str(script), db_url, str(total)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    with store.begin(write=False) as conn:
        values = [r.n for r in conn.execute(select(work.c.n))]
    assert sorted(values) == list(range(total))  # nothing lost, nothing done twice
    status = Jobs(store).status("kill9-test")
    assert status["status"] == "done" and status["processed"] == total


