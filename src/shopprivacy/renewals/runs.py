"""The record of each renewal run, so that every run leaves its ``renewal.run`` audit entry, even one killed
with -9.

A run is a job of its own in ``sp_jobs`` (``renewals.run:<owner>``) while it lasts: leased, with its counts
so far as the checkpoint, refreshed every few seconds. It ends by appending its ``renewal.run`` entry and
removing the job in one transaction. A run that never got there (killed, host lost) leaves the job behind; the
next run, or :meth:`~shopprivacy.renewals.Renewals.recover`, finds it once its holder is gone (the process no
longer exists on this host, or the lease ran out) and writes the entry for it: ``outcome`` ``"crashed"``,
the counts of its last checkpoint, and what its claims in ``sp_renewal_attempts`` say for sure (``billed``,
``pending``, ``failed``, and ``interrupted``: renewals it was billing when it died).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..errors import ShopPrivacyError
from ..store.audit import AuditLog
from ..store.engine import Store
from ..store.jobs import JobHandle, Jobs
from .tables import renewal_attempts
from .view import ALLOWED_FIELDS

log = logging.getLogger("shopprivacy.renewals")

RUN_JOB_PREFIX = "renewals.run:"
ACTION = "renewal.run"
#: Counts a crashed run's entry takes from its claims rather than from its last checkpoint.
_FROM_CLAIMS = {"billed": "billed", "pending": "pending", "failed": "failed", "claimed": "interrupted"}


def _meta(counts: Mapping[str, Any], **extra: str | int) -> dict[str, str | int]:
    return {**{k: int(v) for k, v in counts.items() if k != "would_bill"}, **extra}


class RunLog:
    """Starts, checkpoints and closes runs, and closes the runs that crashed."""

    def __init__(self, store: Store, audit: AuditLog, jobs: Jobs, *, clock: Callable[[], datetime],
                 checkpoint_seconds: float = 5.0) -> None:
        self.store = store
        self.audit = audit
        self.jobs = jobs
        self.clock = clock
        self.checkpoint_seconds = checkpoint_seconds

    def start(self, owner: str) -> RunHandle:
        """Record that a run under ``owner`` (also the owner of its claims) has started."""
        return RunHandle(self, self.jobs.acquire(RUN_JOB_PREFIX + owner, owner=owner))

    def close(self, run: RunHandle, counts: Mapping[str, int], *, outcome: str, error: str | None = None) -> None:
        """Append the run's entry and forget its job, in one transaction. A run that ended with an exception
        (``outcome="aborted"``, ``error`` its type name) also lets go of the claims it held, so the next run
        settles them at once instead of waiting for them to run out."""
        extra: dict[str, str | int] = {"outcome": outcome, "started_at": run.started_at}
        if error is not None:
            extra["error"] = error[:120]
        now = self.clock()
        with self.store.begin() as conn:
            if outcome != "completed":
                conn.execute(update(renewal_attempts).where(renewal_attempts.c.owner == run.owner,
                                                            renewal_attempts.c.status == "claimed")
                             .values(claimed_until=now, updated_at=now))
            if not self.jobs.remove(conn, run.job):
                log.warning("renewal run lost its record to another worker; writing its entry anyway")
            self.audit.append(conn, actor="renewals", action=ACTION, fields=sorted(ALLOWED_FIELDS),
                              meta=_meta(counts, **extra))

    def close_crashed(self) -> int:
        """Write the missing entry of every run whose holder is gone; returns how many were closed."""
        closed = 0
        for row in self.jobs.abandoned(RUN_JOB_PREFIX):
            owner = str(row["lease_owner"] or row["name"][len(RUN_JOB_PREFIX):])
            with self.store.begin() as conn:
                if not self.jobs.remove_abandoned(conn, row):
                    continue  # another worker closed it, or it is alive after all
                t = renewal_attempts
                held = conn.execute(select(t.c.status, func.count())
                                    .where(t.c.status.in_(tuple(_FROM_CLAIMS)), t.c.updated_at >= row["started_at"],
                                           t.c.owner == owner).group_by(t.c.status)).all()
                counts = _checkpointed(row["checkpoint"])
                counts.update({k: 0 for k in _FROM_CLAIMS.values()})
                counts.update({_FROM_CLAIMS[status]: int(n) for status, n in held})
                started = row["started_at"]
                self.audit.append(conn, actor="renewals", action=ACTION, fields=sorted(ALLOWED_FIELDS),
                                  meta=_meta(counts, outcome="crashed", started_at=_iso(started),
                                             recovered_at=_iso(self.clock())))
            closed += 1
            log.warning("renewal run started %s ended without its record (crashed); entry written with what its "
                        "checkpoint and claims show", _iso(started))
        return closed


class RunHandle:
    """One running run: checkpoint its counts now and then with :meth:`progress`."""

    def __init__(self, log_: RunLog, job: JobHandle) -> None:
        self._log = log_
        self.job = job
        self.owner = job.owner
        self.started_at = _iso(log_.clock())
        self._saved = time.monotonic()

    def progress(self, counts: Mapping[str, int], *, force: bool = False) -> None:
        """Checkpoint ``counts`` and extend the run's lease, at most every ``checkpoint_seconds``."""
        if not force and time.monotonic() - self._saved < self._log.checkpoint_seconds:
            return
        self._saved = time.monotonic()
        try:
            self.job.save_now({"counts": dict(counts)})
        except (ShopPrivacyError, SQLAlchemyError) as exc:  # the record serves the audit; billing goes on
            log.warning("renewal run could not checkpoint its counts (%s)", type(exc).__name__)


def _checkpointed(checkpoint: Any) -> dict[str, int]:
    """The counts a run checkpointed (whatever else a damaged row holds is left out)."""
    counts = checkpoint.get("counts") if isinstance(checkpoint, Mapping) else None
    if not isinstance(counts, Mapping):
        return {}
    return {k: v for k, v in counts.items() if isinstance(k, str) and len(k) <= 40 and type(v) is int}


def _iso(at: Any) -> str:
    return at.isoformat() if isinstance(at, datetime) else str(at)


__all__ = ["ACTION", "RUN_JOB_PREFIX", "RunHandle", "RunLog"]
