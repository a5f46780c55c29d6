"""Running requests: export, erase and rectify across the sources, with retries.

A source that fails leaves the request ``in_progress`` with a backoff; the next run retries the sources that
did not finish. Platform erasure is an outbox row; the request is done only once every source is done (or,
for the platform, accepted: the platform completes the erasure on its own side). The state is checked again
under the request's lock before any work and in the transaction that records the result, so a request
rejected meanwhile is never reported done and a finished one is never run twice.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from ..errors import ConflictError, InvalidInput, JobBusy, ShopPrivacyError
from ..progress import Progress
from ..store.jobs import JobHandle
from . import archive, records
from .archive import export_subject as export_subject
from .builtin import SDK_SOURCE
from .model import FEEDBACK_KINDS, FieldOutcome, RightsRequest, SourceReceipt, Subject
from .tables import exports, requests

if TYPE_CHECKING:
    from .downloads import Downloads
    from .identifier_change import IdentifierChanges
    from .kit import RightsKit
    from .notices import NoticeQueue
    from .registry import SourceRegistry
    from .subject_effects import SubjectEffects

log = logging.getLogger("shopprivacy.rights")
WORKABLE = ("verified", "in_progress", "extended")
#: Kinds that leave a state on the person (:mod:`.subject_effects`).
EFFECT_KINDS: frozenset[str] = frozenset({"restrict", "object", "opt_out_sale"})
#: A request waiting only for the platform's erasure is looked at again after this long (the outbox delivery
#: finishes it as soon as the platform answers); until then it takes no ``run-due`` slot.
PLATFORM_RECHECK = timedelta(hours=24)
#: Notice of an erasure finished everywhere but on the platform, which accepted it and completes it itself.
DONE_PLATFORM_PENDING = "done_platform_pending"


class SourceFailed(ShopPrivacyError):
    """One or more sources failed; the request stays in progress and is retried."""


class NoLongerOpen(ShopPrivacyError):
    """The request was closed (rejected, finished) while it was being worked on; its result is dropped."""


def error_text(source: str, exc: BaseException) -> str:
    """What a failed source leaves on its step: its name and the error's type, never the message."""
    return f"{source}: {type(exc).__name__}"[:200]


def _renew(handle: JobHandle | None, source: str) -> None:
    """Extend the job's lease between sources (JobBusy when another worker took it over meanwhile)."""
    if handle is not None:
        handle.save_now({"source": source}, processed=1)


class Completion:
    """Marks a request done, only while it is still open; finishes an erasure once every source is done."""

    def __init__(self, kit: RightsKit, registry: SourceRegistry, notices: NoticeQueue,
                 identifier_changes: IdentifierChanges) -> None:
        self.kit, self.registry, self.notices = kit, registry, notices
        self.identifier_changes = identifier_changes

    def done(self, conn: Any, row: Any, now: datetime, **meta: Any) -> None:
        """Mark the request done in ``conn``'s transaction, only if it is still open (NoLongerOpen otherwise,
        which rolls back everything the transaction wrote with it)."""
        n = conn.execute(update(requests).where(requests.c.id == row.id, requests.c.state.in_(WORKABLE)).values(
            state="done", completed_at=now, last_error=None, next_attempt_at=None, updated_at=now)).rowcount
        if n != 1:
            raise NoLongerOpen(f"request {row.id} was closed meanwhile")
        self.kit.audit_request(conn, row, "rights.done", **meta)

    def finish_if_complete(self, request_id: str) -> bool:
        """Mark an erasure or a correction done once every source is done, or for the platform accepted (it
        completes the erasure on its own side; the notice then says so). Never while a step is queued
        (``pending``, e.g. the platform's correction waiting in the outbox) or failed."""
        kit, now = self.kit, self.kit.clock()
        with kit.store.begin() as conn:
            row = records.load(conn, request_id, lock=True)
            # a request leaving a state on the person (restrict, object, opt-out of sale) waits for the SDK's step
            # and for what it queued for the platform, not for the shop's sources
            names = {SDK_SOURCE} if row.kind in EFFECT_KINDS else {s.name for s in self.registry.all(
                forwarded_by=row.forwarded_by if row.kind == "erase" else None)}
            if row.state not in WORKABLE:
                return bool(row.state == "done")
            steps = records.step_rows(conn, row.id)
            names |= set(steps)
            if any(steps.get(n) is None or steps[n].status not in ("done", "accepted") for n in names):
                waiting = all(steps.get(n) is not None and steps[n].status in ("done", "pending", "accepted")
                              for n in names)
                records.set_state(conn, row.id, now, next_attempt_at=now + PLATFORM_RECHECK if waiting
                                  else row.next_attempt_at, last_error=None if not any(
                                      s.status == "failed" for s in steps.values()) else row.last_error)
                return False
            if row.kind == "rectify":
                self.rectified(conn, row, now)
                return True
            accepted = sorted(n for n in names if steps[n].status == "accepted")
            self.done(conn, row, now, sources=len(steps), platform_pending=",".join(accepted)[:200] or None)
            self.notices.notify_requester(conn, row, DONE_PLATFORM_PENDING if accepted else "done")
        return True


    def rectified(self, conn: Any, row: Any, now: datetime) -> None:
        """Close a correction made everywhere: done, the previous address told of a changed identifier, the
        requester told."""
        changes = self.identifier_changes.corrections(row)
        self.done(conn, row, now, fields=",".join(sorted(changes))[:200])
        self.identifier_changes.announce(conn, row, changes, records.subject_of(self.kit.fields, conn, row))
        self.notices.notify_requester(conn, row, "done")


class Processor:
    """Runs one verified request over every source: export, erase or rectify."""

    def __init__(self, kit: RightsKit, registry: SourceRegistry, identifier_changes: IdentifierChanges,
                 notices: NoticeQueue, downloads: Downloads, completion: Completion,
                 effects: SubjectEffects | None = None) -> None:
        self.kit, self.registry, self.identifier_changes = kit, registry, identifier_changes
        self.notices, self.downloads, self.completion = notices, downloads, completion
        self.effects = effects

    def process(self, request_id: str) -> RightsRequest:
        """Run the request now (ConflictError unless it is verified and open)."""
        return self.process_one(request_id)[0]

    def process_one(self, request_id: str) -> tuple[RightsRequest, bool]:
        """Run the request; (request, whether this run succeeded or is waiting only for the platform)."""
        kit = self.kit
        with kit.store.begin(write=False) as conn:
            row = records.load(conn, request_id)
        if row.state not in WORKABLE or row.verified_at is None:
            raise ConflictError(f"request {row.id} is {row.state}{'' if row.verified_at else ', not verified'}; "
                                "only verified open requests are processed")
        if row.kind in FEEDBACK_KINDS:
            raise ConflictError(f"request {row.id} is a {row.kind}: the operator answers it "
                                "(`shopprivacy rights answer ID TEXT`)")
        if row.cancel_until is not None and kit.clock() < row.cancel_until:
            raise ConflictError(f"request {row.id} may be cancelled by the requester until "
                                f"{row.cancel_until:%Y-%m-%d %H:%M}Z; it runs after that")
        job = f"rights.process:{row.id}"
        ok = True
        with kit.jobs.run(job) as handle:
            now = kit.clock()
            with kit.store.begin() as conn:
                row = records.load(conn, row.id, lock=True)
                workable = row.state in WORKABLE and row.verified_at is not None and (
                    row.cancel_until is None or row.cancel_until <= now)  # cancelled or in its window meanwhile
                if workable:  # checked again under the lock: it may have been rejected or finished meanwhile
                    subject = records.subject_of(kit.fields, conn, row)
                    # a new e-mail or phone is confirmed from itself before anything is corrected
                    workable = row.kind != "rectify" or not self.identifier_changes.hold(conn, row, subject, now)
                if workable and row.state != "in_progress":
                    records.set_state(conn, row.id, now, state="in_progress")
                    kit.audit_request(conn, row, "rights.in_progress")
            if workable:
                try:
                    if row.kind == "export":
                        self._export(row, subject, handle)
                    elif row.kind == "erase":
                        self._erase(row, subject, handle)
                    elif row.kind in EFFECT_KINDS:
                        if self.effects is None:
                            raise ConflictError(f"{row.kind} requests are not handled here")
                        self.effects.apply(row, subject)
                    else:
                        self._rectify(row, subject, handle)
                except NoLongerOpen:
                    log.info("rights request %s was closed while it ran; its result was dropped", row.id)
                except JobBusy:
                    raise  # another worker took the lease over: it finishes the request
                except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried, none escapes
                    ok = False
                    self._failed(row.id, exc)
        kit.jobs.forget(job)
        with kit.store.begin(write=False) as conn:
            return records.to_request(records.load(conn, row.id)), ok

    def _source_failed(self, request_id: str, source: str, exc: BaseException, failures: list[str]) -> None:
        """Note a source's failure (type only, never its message) in ``failures`` and in the request's step."""
        failures.append(error_text(source, exc))
        with self.kit.store.begin() as conn:
            records.save_step(conn, request_id, source, status="failed", now=self.kit.clock(),
                              error=error_text(source, exc))

    def _failed(self, request_id: str, exc: BaseException) -> None:
        kit, now = self.kit, self.kit.clock()
        text = str(exc)[:200] if isinstance(exc, SourceFailed) else type(exc).__name__
        with kit.store.begin() as conn:
            row = records.load(conn, request_id, lock=True)
            if row.state not in WORKABLE:
                return
            delay = min(kit.settings.retry_max_minutes, 2 ** min(row.attempts, 12))
            records.set_state(conn, row.id, now, attempts=row.attempts + 1, last_error=text,
                              next_attempt_at=now + timedelta(minutes=delay))
            kit.audit_request(conn, row, "rights.attempt_failed", error=text[:200], attempt=row.attempts + 1)
        log.warning("rights request %s: attempt %s failed (%s); retried in %s min", request_id, row.attempts + 1,
                    text, delay)

    # -- export ---------------------------------------------------------------------------------------------
    def _export(self, row: Any, subject: Subject, handle: JobHandle | None = None) -> None:
        kit = self.kit
        sections: dict[str, Any] = {}
        failures: list[str] = []
        sources = self.registry.all(forwarded_by=row.forwarded_by)
        with Progress(f"rights export {row.id}", total=len(sources)) as progress:
            for src in sources:
                _renew(handle, src.name)
                try:
                    data = src.export(subject)
                except Exception as exc:  # noqa: BLE001
                    self._source_failed(row.id, src.name, exc, failures)
                    continue
                if data:
                    sections[src.name] = data
                progress.advance(1)
        if failures:
            raise SourceFailed("; ".join(failures))
        request = records.to_request(row)
        now = kit.clock()
        zipped = archive.build(request, sections, generated_at=now)
        sealed, wrapped = archive.seal(kit.fields, zipped, request_id=row.id, key_subject=export_subject(row.id))
        nonce = secrets.token_urlsafe(24)
        with kit.store.begin() as conn:
            if records.load(conn, row.id, lock=True).state not in WORKABLE:
                raise NoLongerOpen(f"request {row.id} was closed meanwhile")
            old = conn.execute(select(exports).where(exports.c.request_id == row.id)).first()
            live = old is not None and old.archive is not None and old.downloaded_at is None and old.expires_at > now
            if not live:  # a live export's link is the one the person has: it is kept, not replaced
                conn.execute(exports.delete().where(exports.c.request_id == row.id))
                conn.execute(exports.insert().values(
                    request_id=row.id, archive=sealed, wrapped_key=wrapped, size=len(zipped), created_at=now,
                    nonce_hash=hashlib.sha256(nonce.encode()).hexdigest(),
                    expires_at=now + timedelta(days=kit.settings.download_days)))
            for name in sections:
                records.save_step(conn, row.id, name, status="done", now=now,
                                  receipt=SourceReceipt(name, (FieldOutcome("*", "exported"),)).to_json())
            self.completion.done(conn, row, now, sources=len(sections), size=len(zipped))
            if not live:
                self.notices.notify_requester(conn, row, "export_ready", link=self.downloads.link(row.id, nonce))

    # -- erase ----------------------------------------------------------------------------------------------
    def _erase(self, row: Any, subject: Subject, handle: JobHandle | None = None) -> None:
        kit = self.kit
        with kit.store.begin(write=False) as conn:
            steps = records.step_rows(conn, row.id)
        failures: list[str] = []
        for src in self.registry.all(forwarded_by=row.forwarded_by):
            step = steps.get(src.name)
            if step is not None and step.status in ("done", "pending", "accepted"):
                continue
            _renew(handle, src.name)
            try:
                receipt = src.erase(subject)
            except Exception as exc:  # noqa: BLE001 - the request stays in progress and is retried
                self._source_failed(row.id, src.name, exc, failures)
                continue
            with kit.store.begin() as conn:
                records.save_step(conn, row.id, src.name, status="pending" if receipt.pending else "done",
                                  now=kit.clock(), receipt=receipt.to_json())
                kit.audit_request(conn, row, "rights.source_erased", actor="rights",
                                  fields=tuple(f.field for f in receipt.fields)[:50], source=src.name,
                                  pending=receipt.pending)
        if failures:
            raise SourceFailed("; ".join(failures))
        self.completion.finish_if_complete(row.id)

    # -- rectify --------------------------------------------------------------------------------------------
    def _rectify(self, row: Any, subject: Subject, handle: JobHandle | None = None) -> None:
        kit = self.kit
        changes = kit.fields.decrypt(row.changes, context=records.CHANGES_CONTEXT, row=row.id)
        if not isinstance(changes, Mapping):
            raise InvalidInput("the request's corrections are missing")
        with kit.store.begin(write=False) as conn:
            steps = records.step_rows(conn, row.id)
        failures: list[str] = []
        for src in self.registry.all():
            if src.name in steps and steps[src.name].status in ("done", "pending"):
                continue
            _renew(handle, src.name)
            try:
                receipt = src.rectify(subject, changes)
            except Exception as exc:  # noqa: BLE001
                self._source_failed(row.id, src.name, exc, failures)
                continue
            with kit.store.begin() as conn:
                records.save_step(conn, row.id, src.name, status="pending" if receipt.pending else "done",
                                  now=kit.clock(), receipt=receipt.to_json())
                corrected = tuple(f.field for f in receipt.fields if f.outcome == "corrected")
                if corrected:
                    kit.audit_request(conn, row, "rights.rectified", actor="rights", fields=corrected,
                                      source=src.name)
        if failures:
            raise SourceFailed("; ".join(failures))
        self.completion.finish_if_complete(row.id)  # the platform's correction may still wait in the outbox
