"""The Celery variant of the renewal job (examples/renewal_job/tasks.py), through the real Redis broker at
127.0.0.1:6379 and real workers, on the local reference shop in the test's database."""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("celery")

from celery.contrib.testing.worker import start_worker
from examples.renewal_job import tasks
from examples.renewal_job.renew import seed
from sqlalchemy import func, select

from shopprivacy import ShopPrivacy
from shopprivacy.errors import DatabaseUnavailable, PlatformError
from shopprivacy.renewals.tables import renewal_attempts

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")  # redis-py, in Celery
ROOT = Path(__file__).parents[2]


@pytest.fixture
def broker():
    """The job's broker URL (CELERY_BROKER_URL, by default the Redis at 127.0.0.1:6379), once it answers."""
    import redis

    url = tasks.app.conf.broker_url
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        where = client.connection_pool.connection_kwargs
        pytest.skip(f"the Celery broker of these tests, Redis at {where.get('host')}:{where.get('port')}, "
                    f"is not reachable ({type(exc).__name__})")
    finally:
        client.close()
    return url


@pytest.fixture
def job_env(store, db_url, keyset, monkeypatch):
    """The job's settings as a worker gets them: SHOPPRIVACY_* variables (the store is migrated)."""
    env = {"SHOPPRIVACY_DATABASE_URL": db_url, "SHOPPRIVACY_KEYSET": keyset.to_json(),
           "SHOPPRIVACY_PLATFORM_OPTIONS": json.dumps({"database_url": db_url})}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env
    tasks._close_facade()  # this process's facade, if a test built one


@pytest.fixture
def queue(broker):
    """A queue of the test's own (other suites may share the Redis server), removed afterwards."""
    import redis

    name = "renewals-test-" + secrets.token_hex(4)
    yield name
    with redis.Redis.from_url(broker) as client:
        client.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")


def billed_once(shop, store, n):
    """Every due subscription has exactly one renewal order, and its claim is ``billed``."""
    with shop.engine.connect() as conn:
        per_sub = conn.execute(select(shop.orders.c.subscription_id, func.count())
                               .group_by(shop.orders.c.subscription_id)).all()
    with store.begin(write=False) as conn:
        claims = conn.execute(select(renewal_attempts.c.status)).scalars().all()
    return (shop.billing_count() == n and len(per_sub) == n and all(c == 1 for _, c in per_sub)
            and len(claims) == n and set(claims) == {"billed"})


def accounted(counts):
    return counts["billed"] + counts["busy"] + counts["already_done"] == counts["seen"] and counts["errors"] == 0


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_task_sent_twice_at_once_to_a_prefork_worker_bills_each_subscription_once(
        broker, job_env, shop, store, queue, tmp_path):
    n = 120
    seed(shop, n, datetime.now(timezone.utc))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPPRIVACY_")}
    env.update(job_env, CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=tasks.app.conf.result_backend,
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    logfile = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "examples.renewal_job.tasks", "worker", "--pool", "prefork",
         "--concurrency", "2", "-Q", queue, "-n", f"{queue}@%h", "--loglevel", "INFO", "--logfile", str(logfile),
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        # each pool process builds its facade on its first task; then both runs start together
        warm = [tasks.run_due.apply_async(queue=queue) for _ in range(2)]
        assert all(w.get(timeout=60)["dead_letters"] == 0 for w in warm)
        sent = [tasks.renew.apply_async(queue=queue) for _ in range(2)]
        results = [r.get(timeout=150) for r in sent]
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            output, _ = worker.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            output, _ = worker.communicate()
    assert sum(r["billed"] for r in results) == n, results
    assert all(accounted(r) for r in results), results
    assert billed_once(shop, store, n)
    log = logfile.read_text()
    assert log.count("renewals: seen") == 2 and "example.com" not in log  # counts only, never customer data
    assert b"\x1b[K" not in output and "\x1b[K" not in log  # no progress bar


@pytest.mark.timeout(120)
def test_runs_in_threads_of_one_worker_process_split_the_work(broker, job_env, shop, store, queue, capfd):
    """A thread pool: one process, one facade; the claims tell the threads apart, so nothing is billed twice."""
    n = 60
    seed(shop, n, datetime.now(timezone.utc))
    with start_worker(tasks.app, pool="threads", concurrency=2, perform_ping_check=False, queues=[queue],
                      shutdown_timeout=60):
        sent = [tasks.renew.apply_async(queue=queue) for _ in range(2)]
        results = [r.get(timeout=90) for r in sent]
    assert sum(r["billed"] for r in results) == n, results
    assert all(accounted(r) for r in results)
    assert billed_once(shop, store, n)
    assert list(tasks._facades) == [os.getpid()]  # built once for the process, on first use
    assert "\x1b[K" not in capfd.readouterr().err


class FlakyPlatform:
    """The local shop, whose first listing of due subscriptions fails with ``error``."""

    def __init__(self, shop, error):
        self.shop, self.error, self.listings = shop, error, 0

    def iter_due_subscriptions(self, **kwargs):
        self.listings += 1
        if self.listings == 1:
            raise self.error
        return self.shop.iter_due_subscriptions(**kwargs)

    def create_billing_attempt(self, subscription_id, **kwargs):
        return self.shop.create_billing_attempt(subscription_id, **kwargs)

    def close(self):
        pass  # the shop fixture closes the shop


@pytest.fixture
def flaky_facade(settings, store, shop, monkeypatch):
    made = []

    def make(error):
        sp = ShopPrivacy(settings, store=store, adapter=FlakyPlatform(shop, error))
        monkeypatch.setattr(tasks, "facade", lambda: sp)
        made.append(sp)
        return sp.adapter

    yield make
    for sp in made:
        sp.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("error", [PlatformError("rate limited", retry_after=0.3),
                                   DatabaseUnavailable("cannot reach the database")])
def test_a_transient_failure_is_retried_through_the_broker(broker, flaky_facade, shop, store, queue, monkeypatch,
                                                           error):
    monkeypatch.setattr(tasks, "BACKOFF_SECONDS", 0)  # no jitter wait: only what the platform asked for
    seed(shop, 5, datetime.now(timezone.utc))
    platform = flaky_facade(error)
    with start_worker(tasks.app, pool="threads", concurrency=1, perform_ping_check=False, queues=[queue]):
        result = tasks.renew.apply_async(queue=queue)
        counts = result.get(timeout=60)
    assert platform.listings == 2 and counts["billed"] == 5
    assert billed_once(shop, store, 5)


@pytest.mark.timeout(120)
def test_a_permanent_platform_error_fails_the_task_without_retrying(broker, flaky_facade, shop, queue):
    seed(shop, 3, datetime.now(timezone.utc))
    platform = flaky_facade(PlatformError("the platform refused the credentials", retryable=False))
    with start_worker(tasks.app, pool="threads", concurrency=1, perform_ping_check=False, queues=[queue]):
        result = tasks.renew.apply_async(queue=queue)
        with pytest.raises(PlatformError, match="refused"):
            result.get(timeout=60)
    assert platform.listings == 1 and shop.billing_count() == 0


def test_a_run_on_a_terminal_draws_no_progress_bar(job_env, shop, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", terminal)
    seed(shop, 3, datetime.now(timezone.utc))
    counts = tasks.renew.apply().get()  # run here, the way a solo worker in a terminal runs it
    assert counts["billed"] == 3 and terminal.getvalue() == ""


@pytest.mark.timeout(60)
def test_run_due_task_and_the_beat_schedule(broker, job_env, queue):
    with start_worker(tasks.app, pool="threads", concurrency=1, perform_ping_check=False, queues=[queue]):
        done = tasks.run_due.apply_async(queue=queue).get(timeout=30)
    assert set(done) == {"outbox", "tasks", "dead_letters"} and "rights" in done["tasks"]
    by_task = {e["task"]: e for e in tasks.app.conf.beat_schedule.values()}
    assert set(by_task) == {tasks.renew.name, tasks.run_due.name}
    renew, due = by_task[tasks.renew.name], by_task[tasks.run_due.name]
    assert renew["schedule"].minute == {0, 15, 30, 45} and len(due["schedule"].minute) == 60
    # a message not taken within its slot expires instead of piling up behind a stopped worker
    assert renew["options"]["expires"] < 15 * 60 and due["options"]["expires"] < 60


@pytest.mark.timeout(150)
def test_a_round_fanned_out_to_several_workers_bills_each_subscription_once(broker, job_env, shop, store, queue):
    """``fan_out(3)``: three renewal shards and three run_due, on a pool of three, through the Redis broker."""
    n = 45
    seed(shop, n, datetime.now(timezone.utc))
    with start_worker(tasks.app, pool="threads", concurrency=3, perform_ping_check=False, queues=[queue],
                      shutdown_timeout=60):
        tasks.app.conf.task_default_queue = queue  # the shards fan_out sends go to the test's queue too
        try:
            sent = tasks.fan_out.apply_async(args=(3,), queue=queue).get(timeout=60)
            renewals = [tasks.app.AsyncResult(i).get(timeout=90) for i in sent["renew"]]
            due = [tasks.app.AsyncResult(i).get(timeout=90) for i in sent["run_due"]]
        finally:
            tasks.app.conf.task_default_queue = "celery"
    assert len(renewals) == 3 and sum(r["billed"] for r in renewals) == n, renewals
    assert all(r["errors"] == 0 for r in renewals) and all(d["dead_letters"] == 0 for d in due)
    assert billed_once(shop, store, n)
