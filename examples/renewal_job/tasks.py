"""The renewal job as Celery tasks: ``renew`` bills what is due, ``run_due`` does everything else that is due.

    pip install 'celery[redis]>=5.4'
    celery -A examples.renewal_job.tasks worker --beat --loglevel=INFO

Settings come from the environment as for the ``shopprivacy`` command (``SHOPPRIVACY_DATABASE_URL``,
``SHOPPRIVACY_KEYSET`` or ``SHOPPRIVACY_KEYSET_FILE``, ``SHOPPRIVACY_PLATFORM``, ...); the broker and the result
backend from ``CELERY_BROKER_URL`` and ``CELERY_RESULT_BACKEND`` (default: Redis on 127.0.0.1:6379). The beat
schedule runs ``renew`` every 15 minutes and ``run_due`` every minute, as the cron lines of docs/renewals.md
and docs/operations.md do.

Several workers (``RENEWAL_JOB_WORKERS=4``, workers on several machines sharing the broker and PostgreSQL): the
beat sends ``fan_out`` every 15 minutes, which sends one renewal shard per worker (``renew("2/4")``) and as many
``run_due``; see docs/scaling.md. The broker may be RabbitMQ as well
(``CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672//``, ``CELERY_RESULT_BACKEND=rpc://`` or Redis).

Each worker process builds its facade on first use and keeps it (nothing is built at import, and a forked
process never uses its parent's connections). Runs are safe to overlap: concurrent runs split the work through
the renewal claims, whether they run in separate worker processes or in the threads of one. A task draws
no progress bar and prints nothing; it logs one summary line of counts and returns them.
"""

from __future__ import annotations

import io
import os
import threading
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import worker_process_shutdown, worker_shutdown
from celery.utils.log import get_task_logger
from celery.utils.time import get_exponential_backoff_interval

from shopprivacy import ShopPrivacy
from shopprivacy.errors import DatabaseUnavailable, PlatformError
from shopprivacy.renewals.split import Shard

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
#: How many workers one round is spread over (``fan_out``): renewal shards and ``run_due`` copies.
WORKERS = int(os.environ.get("RENEWAL_JOB_WORKERS", "1"))

app = Celery("renewal_job")
app.conf.update(
    broker_url=BROKER_URL,
    result_backend=os.environ.get("CELERY_RESULT_BACKEND", BROKER_URL),
    result_expires=24 * 3600,
    timezone="UTC",
    task_serializer="json",
    accept_content=["json"],
    # runs are idempotent (claims, idempotency keys): a message is acknowledged when its run ends, so one handed
    # to a worker that went away is delivered again; the claims an interrupted run left are settled by the next
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    beat_schedule={
        # a run not started within its slot is dropped rather than piled up behind a stopped worker
        "renewals": {"task": "renewal_job.renew", "schedule": crontab(minute="*/15"),
                     "options": {"expires": 14 * 60}},
        "run-due": {"task": "renewal_job.run_due", "schedule": crontab(), "options": {"expires": 55}},
    } if WORKERS <= 1 else {
        # several workers: every 15 minutes a round of renewal shards (and run_due copies), run_due each minute
        "renewals": {"task": "renewal_job.fan_out", "schedule": crontab(minute="*/15"),
                     "options": {"expires": 14 * 60}},
        "run-due": {"task": "renewal_job.run_due", "schedule": crontab(), "options": {"expires": 55}},
    },
)

log = get_task_logger(__name__)

#: How often and how long a transient failure is retried: the next scheduled run comes anyway.
MAX_RETRIES = 3
BACKOFF_SECONDS, BACKOFF_MAX_SECONDS = 30, 300

_facades: dict[int, ShopPrivacy] = {}
_facades_lock = threading.Lock()


def facade() -> ShopPrivacy:
    """This process's facade, built from the environment on first use (per process id: fork-safe)."""
    pid = os.getpid()
    with _facades_lock:
        sp = _facades.get(pid)
        if sp is None:
            sp = _facades[pid] = ShopPrivacy.from_env()
        return sp


@worker_process_shutdown.connect
@worker_shutdown.connect
def _close_facade(**_: Any) -> None:
    with _facades_lock:
        sp = _facades.pop(os.getpid(), None)
    if sp is not None:
        sp.close()


def _backoff(task: Task, *, at_least: float | None = None) -> float:
    """Seconds before the next attempt: exponential with full jitter, never sooner than the platform asked."""
    wait = get_exponential_backoff_interval(BACKOFF_SECONDS, task.request.retries, BACKOFF_MAX_SECONDS,
                                            full_jitter=True)
    return max(float(wait), at_least or 0.0)


@app.task(bind=True, name="renewal_job.renew", max_retries=MAX_RETRIES)
def renew(self: Task, shard: str | None = None) -> dict[str, int]:
    """Bill every subscription due now once per period, on the platform the settings name. Retried on a
    platform error the platform calls temporary and on an unreachable database; any other error fails the
    task at once (retrying cannot fix a setting or a refusal). A shop billing through its own code passes
    ``charge=`` and ``recover=`` to ``run`` (see docs/renewals.md). ``shard`` ("INDEX/COUNT", sent by
    :func:`fan_out`) bills that share first, then whatever the other shares left unclaimed."""
    try:
        # concurrent runs (other workers, threads of a pool) split the due subscriptions through their claims
        report = facade().renewals.run(stream=io.StringIO(),  # not a terminal: no progress bar
                                       shard=Shard.parse(shard) if shard else None)
    except PlatformError as exc:
        if not exc.retryable:
            raise
        raise self.retry(exc=exc, countdown=_backoff(self, at_least=exc.retry_after)) from None
    except DatabaseUnavailable as exc:
        raise self.retry(exc=exc, countdown=_backoff(self)) from None
    counts = report.counts()
    log.info("renewals: %s", ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "nothing due")
    return counts


@app.task(bind=True, name="renewal_job.run_due", max_retries=1)
def run_due(self: Task) -> dict[str, Any]:
    """``sp.run_due()``: expiries, reminders, retention, rights requests, then the outbox. Platform failures
    stay in the outbox with their own backoff; only an unreachable database retries the task."""
    try:
        done = facade().run_due()
    except DatabaseUnavailable as exc:
        raise self.retry(exc=exc, countdown=_backoff(self)) from None
    out = done.outbox
    summary = {"outbox": {"delivered": out.delivered, "retried": out.retried, "dead": out.dead},
               "tasks": {name: dict(counts) for name, counts in done.tasks.items()},
               "dead_letters": done.dead_letters}
    if out.delivered or out.retried or out.dead or done.dead_letters:
        log.info("run-due: outbox delivered %d, retried %d, dead %d; %d dead letters",
                 out.delivered, out.retried, out.dead, done.dead_letters)
    return summary


@app.task(name="renewal_job.fan_out")
def fan_out(workers: int | None = None) -> dict[str, list[str]]:
    """Spread one round over several workers: ``workers`` renewal shards and as many ``run_due`` (outbox rows
    are leased one by one, so copies deliver side by side). Returns the ids of the tasks it sent; it does not
    wait for them (a task waiting for others can hold up the pool it needs)."""
    n = workers or WORKERS
    sent_renew = [renew.delay(f"{i}/{n}" if n > 1 else None) for i in range(n)]
    sent_due = [run_due.delay() for _ in range(n)]
    return {"renew": [r.id for r in sent_renew], "run_due": [r.id for r in sent_due]}
