"""Checkpoints and leases for long jobs, so a job killed with -9 resumes where it stopped.

Usage::

    with sp.jobs.run("fields.reencrypt:customers.email") as job:
        cursor = (job.checkpoint or {}).get("after", 0)
        for batch in batches_after(cursor):
            with sp.store.begin() as conn:
                work(conn, batch)
                job.save(conn, {"after": batch[-1].id}, processed=len(batch))  # same transaction
        # leaving the block marks the job done; an exception leaves it resumable

Saving the checkpoint in the same transaction as the work makes every batch happen exactly once.
A second process asking for a job whose lease is live gets :class:`~shopprivacy.errors.JobBusy`; a lease
whose holder died (its process is gone on this host, or the lease ran out) is taken over.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..errors import ConflictError, JobBusy
from .engine import Store
from .outbox import worker_id
from .schema import jobs
from .types import utcnow


def holder_is_dead(owner: str | None) -> bool:
    """True when ``owner`` ("host:pid:nonce", or "host:pid" from older versions) ran on this host and its
    process no longer exists (a finished run of a live process waits for its lease to expire)."""
    host, _, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:80] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class JobHandle:
    """A leased job. ``checkpoint`` is what the last successful :meth:`save` stored (None at first)."""

    name: str
    owner: str
    checkpoint: dict[str, Any] | None
    processed: int
    resumed: bool
    _jobs: Jobs

    def save(self, conn: Connection, checkpoint: Mapping[str, Any], *, processed: int = 0) -> None:
        """Store ``checkpoint`` in ``conn``'s transaction and extend the lease."""
        now = self._jobs.clock()
        n = conn.execute(update(jobs).where(jobs.c.name == self.name, jobs.c.lease_owner == self.owner).values(
            checkpoint=dict(checkpoint), processed=jobs.c.processed + processed, updated_at=now,
            lease_until=now + self._jobs.lease)).rowcount
        if not n:
            raise JobBusy(f"job {self.name!r} lost its lease to another worker")
        self.checkpoint = dict(checkpoint)
        self.processed += processed

    def save_now(self, checkpoint: Mapping[str, Any], *, processed: int = 0) -> None:
        """Store a checkpoint in a transaction of its own (for work outside the SDK's database)."""
        with self._jobs.store.begin() as conn:
            self.save(conn, checkpoint, processed=processed)


class Jobs:
    """Leases and checkpoints in ``sp_jobs``."""

    def __init__(self, store: Store, *, lease: timedelta = timedelta(minutes=5),
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.lease = lease
        self.clock = clock

    def acquire(self, name: str, *, owner: str | None = None, restart: bool = False) -> JobHandle:
        """Lease ``name``; resume from its checkpoint unless it finished or ``restart`` is true."""
        owner = owner or worker_id()
        now = self.clock()
        with self.store.begin() as conn:
            ins = pg_insert(jobs) if self.store.dialect == "postgresql" else sqlite_insert(jobs)
            conn.execute(ins.values(name=name, checkpoint=None, status="done", processed=0, started_at=now,
                                    updated_at=now).on_conflict_do_nothing(index_elements=["name"]))
            q = select(jobs).where(jobs.c.name == name)
            if self.store.dialect == "postgresql":
                q = q.with_for_update()
            row = conn.execute(q).one()
            live = row.status == "running" and row.lease_until is not None and row.lease_until > now
            if live and row.lease_owner != owner and not holder_is_dead(row.lease_owner):
                raise JobBusy(f"job {name!r} is running in {row.lease_owner} until {row.lease_until:%H:%M:%S}")
            resumed = row.status == "running" and row.checkpoint is not None and not restart
            checkpoint = row.checkpoint if resumed else None
            processed = row.processed if resumed else 0
            conn.execute(update(jobs).where(jobs.c.name == name).values(
                status="running", lease_owner=owner, lease_until=now + self.lease, checkpoint=checkpoint,
                processed=processed, updated_at=now, finished_at=None,
                **({} if resumed else {"started_at": now})))
        return JobHandle(name, owner, checkpoint, processed, resumed, self)

    def finish(self, handle: JobHandle) -> None:
        now = self.clock()
        with self.store.begin() as conn:
            n = conn.execute(update(jobs).where(jobs.c.name == handle.name, jobs.c.lease_owner == handle.owner)
                             .values(status="done", lease_owner=None, lease_until=None, updated_at=now,
                                     finished_at=now)).rowcount
        if not n:
            raise ConflictError(f"job {handle.name!r} was taken over before it finished")

    def release(self, handle: JobHandle) -> None:
        """Give the lease up but keep the checkpoint (the job stays resumable)."""
        with self.store.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.name == handle.name, jobs.c.lease_owner == handle.owner)
                         .values(lease_until=self.clock()))

    @contextmanager
    def run(self, name: str, *, restart: bool = False) -> Iterator[JobHandle]:
        """Lease a job for a ``with`` block: done on success, resumable after an exception or a kill."""
        handle = self.acquire(name, restart=restart)
        try:
            yield handle
        except BaseException:
            self.release(handle)
            raise
        self.finish(handle)

    def abandoned(self, prefix: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Running jobs whose name starts with ``prefix`` and whose holder died or whose lease ran out (for a
        job per run: the runs that crashed). Take one over with :meth:`remove_abandoned`."""
        now = self.clock()
        q = (select(jobs).where(jobs.c.name.startswith(prefix, autoescape=True), jobs.c.status == "running")
             .order_by(jobs.c.started_at).limit(limit))
        with self.store.begin(write=False) as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return [r for r in rows if r["lease_until"] is None or r["lease_until"] <= now
                or holder_is_dead(r["lease_owner"])]

    def remove_abandoned(self, conn: Connection, row: Mapping[str, Any]) -> bool:
        """Delete an :meth:`abandoned` job in ``conn``'s transaction, unless it changed since it was read
        (its holder came back, or another worker took it first): True when this call removed it."""
        return bool(conn.execute(delete(jobs).where(
            jobs.c.name == row["name"], jobs.c.status == "running", jobs.c.lease_owner == row["lease_owner"],
            jobs.c.updated_at == row["updated_at"])).rowcount)

    def remove(self, conn: Connection, handle: JobHandle) -> bool:
        """Delete a finished one-off job (e.g. one per run) in ``conn``'s transaction; False when its lease
        was lost and another worker already removed it."""
        return bool(conn.execute(delete(jobs).where(jobs.c.name == handle.name,
                                                    jobs.c.lease_owner == handle.owner)).rowcount)

    def status(self, name: str) -> dict[str, Any] | None:
        with self.store.begin(write=False) as conn:
            row = conn.execute(select(jobs).where(jobs.c.name == name)).first()
        return None if row is None else dict(row._mapping)

    def forget(self, name: str) -> None:
        with self.store.begin() as conn:
            conn.execute(delete(jobs).where(jobs.c.name == name))
