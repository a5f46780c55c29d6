"""Running requests: export, erase and rectify across the sources; retries; ``run-due``; shop redaction.

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

from sqlalchemy import func, select, update

from ..email.tables import email_subjects
from ..errors import ConflictError, InvalidInput, JobBusy, ShopPrivacyError
from ..fields.tables import subject_keys
from ..platforms import PersonalDataHost, require
from ..progress import Progress
from ..store.jobs import JobHandle
from ..store.outbox import Delivery
from . import archive, records
from .model import CLOSED_STATES, IDENTIFIERS, OPEN_STATES, FieldOutcome, RightsRequest, SourceReceipt, Subject
from .tables import attempts, exports, identifiers, redactions, requests

if TYPE_CHECKING:
    from .service import Rights

log = logging.getLogger("shopprivacy.rights")
WORKABLE = ("verified", "in_progress", "extended")
#: A request waiting only for the platform's erasure is looked at again after this long (the outbox delivery
#: finishes it as soon as the platform answers); until then it takes no ``run-due`` slot.
PLATFORM_RECHECK = timedelta(hours=24)


class SourceFailed(ShopPrivacyError):
    """One or more sources failed; the request stays in progress and is retried."""


class NoLongerOpen(ShopPrivacyError):
    """The request was closed (rejected, finished) while it was being worked on; its result is dropped."""


def _error(source: str, exc: BaseException) -> str:
    return f"{source}: {type(exc).__name__}"[:200]


def _source_failed(rights: Rights, request_id: str, source: str, exc: BaseException, failures: list[str]) -> None:
    """Note a source's failure (type only, never its message) in ``failures`` and in the request's step."""
    failures.append(_error(source, exc))
    with rights.sp.store.begin() as conn:
        records.save_step(conn, request_id, source, status="failed", now=rights.sp.clock(),
                          error=_error(source, exc))


def export_subject(request_id: str) -> str:
    """The ``sp.fields`` subject whose key wraps the archive of one export (shredded on erasure)."""
    return f"rights-export:{request_id}"


def process(rights: Rights, request_id: str) -> RightsRequest:
    return process_one(rights, request_id)[0]


def process_one(rights: Rights, request_id: str) -> tuple[RightsRequest, bool]:
    """Run the request; (request, whether this run succeeded or is waiting only for the platform)."""
    sp = rights.sp
    with sp.store.begin(write=False) as conn:
        row = records.load(conn, request_id)
    if row.state not in WORKABLE or row.verified_at is None:
        raise ConflictError(f"request {row.id} is {row.state}{'' if row.verified_at else ', not verified'}; "
                            "only verified open requests are processed")
    job = f"rights.process:{row.id}"
    ok = True
    with sp.jobs.run(job) as handle:
        now = sp.clock()
        with sp.store.begin() as conn:
            row = records.load(conn, row.id, lock=True)
            workable = row.state in WORKABLE and row.verified_at is not None
            if workable:  # checked again under the lock: it may have been rejected or finished meanwhile
                subject = records.subject_of(sp, conn, row)
                # a new e-mail or phone is confirmed from itself before anything is corrected
                workable = row.kind != "rectify" or not rights.identifier_changes.hold(conn, row, subject, now)
            if workable and row.state != "in_progress":
                records.set_state(conn, row.id, now, state="in_progress")
                rights._audit(conn, row, "rights.in_progress")
        if workable:
            try:
                if row.kind == "export":
                    _export(rights, row, subject, handle)
                elif row.kind == "erase":
                    _erase(rights, row, subject, handle)
                else:
                    _rectify(rights, row, subject, handle)
            except NoLongerOpen:
                log.info("rights request %s was closed while it ran; its result was dropped", row.id)
            except JobBusy:
                raise  # another worker took the lease over: it finishes the request
            except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried, none escapes
                ok = False
                _failed(rights, row.id, exc)
    sp.jobs.forget(job)
    return rights.get(row.id), ok


def _failed(rights: Rights, request_id: str, exc: BaseException) -> None:
    sp, now = rights.sp, rights.sp.clock()
    text = str(exc)[:200] if isinstance(exc, SourceFailed) else type(exc).__name__
    with sp.store.begin() as conn:
        row = records.load(conn, request_id, lock=True)
        if row.state not in WORKABLE:
            return
        delay = min(rights.settings.retry_max_minutes, 2 ** min(row.attempts, 12))
        records.set_state(conn, row.id, now, attempts=row.attempts + 1, last_error=text,
                          next_attempt_at=now + timedelta(minutes=delay))
        rights._audit(conn, row, "rights.attempt_failed", error=text[:200], attempt=row.attempts + 1)
    log.warning("rights request %s: attempt %s failed (%s); retried in %s min", request_id, row.attempts + 1,
                text, delay)


# -- export ---------------------------------------------------------------------------------------------
def _renew(handle: JobHandle | None, source: str) -> None:
    """Extend the job's lease between sources (JobBusy when another worker took it over meanwhile)."""
    if handle is not None:
        handle.save_now({"source": source}, processed=1)


def _export(rights: Rights, row: Any, subject: Subject, handle: JobHandle | None = None) -> None:
    sp = rights.sp
    sections: dict[str, Any] = {}
    failures: list[str] = []
    sources = rights.sources(forwarded_by=row.forwarded_by)
    with Progress(f"rights export {row.id}", total=len(sources)) as progress:
        for src in sources:
            _renew(handle, src.name)
            try:
                data = src.export(subject)
            except Exception as exc:  # noqa: BLE001
                _source_failed(rights, row.id, src.name, exc, failures)
                continue
            if data:
                sections[src.name] = data
            progress.advance(1)
    if failures:
        raise SourceFailed("; ".join(failures))
    request = records.to_request(row)
    now = sp.clock()
    zipped = archive.build(request, sections, generated_at=now)
    sealed, wrapped = archive.seal(sp.fields, zipped, request_id=row.id, key_subject=export_subject(row.id))
    nonce = secrets.token_urlsafe(24)
    with sp.store.begin() as conn:
        if records.load(conn, row.id, lock=True).state not in WORKABLE:
            raise NoLongerOpen(f"request {row.id} was closed meanwhile")
        old = conn.execute(select(exports).where(exports.c.request_id == row.id)).first()
        live = old is not None and old.archive is not None and old.downloaded_at is None and old.expires_at > now
        if not live:  # a live export's link is the one the person has: it is kept, not replaced
            conn.execute(exports.delete().where(exports.c.request_id == row.id))
            conn.execute(exports.insert().values(
                request_id=row.id, archive=sealed, wrapped_key=wrapped, size=len(zipped), created_at=now,
                nonce_hash=hashlib.sha256(nonce.encode()).hexdigest(),
                expires_at=now + timedelta(days=rights.settings.download_days)))
        for name in sections:
            records.save_step(conn, row.id, name, status="done", now=now,
                              receipt=SourceReceipt(name, (FieldOutcome("*", "exported"),)).to_json())
        _done(rights, conn, row, now, sources=len(sections), size=len(zipped))
        if not live:
            rights.notify_requester(conn, row, "export_ready", link=rights.download_link(row.id, nonce))


def _done(rights: Rights, conn: Any, row: Any, now: datetime, **meta: Any) -> None:
    """Mark the request done in ``conn``'s transaction, only if it is still open (NoLongerOpen otherwise, which
    rolls back everything the transaction wrote with it)."""
    n = conn.execute(update(requests).where(requests.c.id == row.id, requests.c.state.in_(WORKABLE)).values(
        state="done", completed_at=now, last_error=None, next_attempt_at=None, updated_at=now)).rowcount
    if n != 1:
        raise NoLongerOpen(f"request {row.id} was closed meanwhile")
    rights._audit(conn, row, "rights.done", **meta)


# -- erase ----------------------------------------------------------------------------------------------
def _erase(rights: Rights, row: Any, subject: Subject, handle: JobHandle | None = None) -> None:
    sp = rights.sp
    with sp.store.begin(write=False) as conn:
        steps = records.step_rows(conn, row.id)
    failures: list[str] = []
    for src in rights.sources(forwarded_by=row.forwarded_by):
        step = steps.get(src.name)
        if step is not None and step.status in ("done", "pending", "accepted"):
            continue
        _renew(handle, src.name)
        try:
            receipt = src.erase(subject)
        except Exception as exc:  # noqa: BLE001 - the request stays in progress and is retried
            _source_failed(rights, row.id, src.name, exc, failures)
            continue
        with sp.store.begin() as conn:
            records.save_step(conn, row.id, src.name, status="pending" if receipt.pending else "done",
                              now=sp.clock(), receipt=receipt.to_json())
            rights._audit(conn, row, "rights.source_erased", actor="rights",
                          fields=tuple(f.field for f in receipt.fields)[:50], source=src.name,
                          pending=receipt.pending)
    if failures:
        raise SourceFailed("; ".join(failures))
    finish_if_complete(rights, row.id)


#: Notice of an erasure finished everywhere but on the platform, which accepted it and completes it itself.
DONE_PLATFORM_PENDING = "done_platform_pending"


def finish_if_complete(rights: Rights, request_id: str) -> bool:
    """Mark an erasure done once every source is done, or for the platform accepted (it completes the erasure
    on its own side; the notice then says so). Never while a step is queued (``pending``) or failed."""
    sp, now = rights.sp, rights.sp.clock()
    with sp.store.begin() as conn:
        row = records.load(conn, request_id, lock=True)
        names = {s.name for s in rights.sources(forwarded_by=row.forwarded_by)}
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
        accepted = sorted(n for n in names if steps[n].status == "accepted")
        _done(rights, conn, row, now, sources=len(steps), platform_pending=",".join(accepted)[:200] or None)
        rights.notify_requester(conn, row, DONE_PLATFORM_PENDING if accepted else "done")
    return True


def deliver_platform_erase(rights: Rights, delivery: Delivery) -> None:
    """Outbox handler: erase on the platform with the row's idempotency key, record its receipt.

    A receipt the platform marks ``pending`` (it accepted the erasure and completes it on its own side) makes
    the step ``accepted``; a failure is recorded on the step (still ``pending``) and re-raised for the outbox
    to retry. A request closed meanwhile (rejected) is not erased on the platform."""
    p, sp = delivery.payload, rights.sp
    source, request_id = str(p["source"]), str(p["request"])
    with sp.store.begin(write=False) as conn:
        row = records.load(conn, request_id)
    if row.state in ("rejected", "expired"):
        log.info("rights request %s was %s before its platform erasure ran; skipped", row.id, row.state)
        return
    customer = sp.fields.decrypt(p["customer"], context="sp_outbox.rights", row=delivery.idempotency_key)
    host = require(sp.adapter, PersonalDataHost, "customer erasure")
    try:
        got = host.erase_customer(str(customer), idempotency_key=delivery.idempotency_key)
    except Exception as exc:
        with sp.store.begin() as conn:
            records.save_step(conn, row.id, source, status="pending", now=sp.clock(), error=_error(source, exc),
                              receipt=SourceReceipt(source, (FieldOutcome(
                                  "customer", "pending", "queued for the platform; the last attempt failed and is "
                                  "retried"),), pending=True).to_json())
        raise
    fields = [*(FieldOutcome(f, "erased") for f in got.erased),
              *(FieldOutcome(f, "anonymised") for f in got.anonymised),
              *(FieldOutcome(f, "retained", reason) for f, reason in got.retained.items())]
    if got.pending:
        fields.append(FieldOutcome("customer", "pending", "accepted; the platform completes it on its side"))
    receipt = SourceReceipt(source, tuple(fields), rows=1, pending=got.pending)
    with sp.store.begin() as conn:
        records.save_step(conn, row.id, source, status="accepted" if got.pending else "done", now=sp.clock(),
                          receipt=receipt.to_json())
        rights._audit(conn, row, "rights.source_erased", actor="outbox", source=source[:200],
                      fields=tuple(f.field for f in fields)[:50], pending=got.pending)
    finish_if_complete(rights, row.id)


# -- rectify --------------------------------------------------------------------------------------------
def _rectify(rights: Rights, row: Any, subject: Subject, handle: JobHandle | None = None) -> None:
    sp = rights.sp
    changes = sp.fields.decrypt(row.changes, context=records.CHANGES_CONTEXT, row=row.id)
    if not isinstance(changes, Mapping):
        raise InvalidInput("the request's corrections are missing")
    with sp.store.begin(write=False) as conn:
        steps = records.step_rows(conn, row.id)
    failures: list[str] = []
    for src in rights.sources():
        if src.name in steps and steps[src.name].status == "done":
            continue
        _renew(handle, src.name)
        try:
            receipt = src.rectify(subject, changes)
        except Exception as exc:  # noqa: BLE001
            _source_failed(rights, row.id, src.name, exc, failures)
            continue
        with sp.store.begin() as conn:
            records.save_step(conn, row.id, src.name, status="done", now=sp.clock(), receipt=receipt.to_json())
            corrected = tuple(f.field for f in receipt.fields if f.outcome == "corrected")
            if corrected:
                rights._audit(conn, row, "rights.rectified", actor="rights", fields=corrected, source=src.name)
    if failures:
        raise SourceFailed("; ".join(failures))
    now = sp.clock()
    with sp.store.begin() as conn:
        records.load(conn, row.id, lock=True)
        _done(rights, conn, row, now, fields=",".join(sorted(changes))[:200])
        rights.identifier_changes.announce(conn, row, changes, subject)
        rights.notify_requester(conn, row, "done")


# -- run-due --------------------------------------------------------------------------------------------
def run_due(rights: Rights, now: datetime) -> dict[str, int]:
    sp, s = rights.sp, rights.settings
    counts = dict.fromkeys(("processed", "failed", "waiting", "expired", "reminders", "overdue", "unacknowledged",
                            "exports_purged", "identifiers_dropped"), 0)
    with sp.store.begin() as conn:
        stale = conn.execute(select(requests).where(requests.c.state.in_(sorted(OPEN_STATES)),
                                                    requests.c.verified_at.is_(None),
                                                    requests.c.verify_expires_at <= now)).all()
        for row in stale:
            records.set_state(conn, row.id, now, state="expired", completed_at=now)
            rights._audit(conn, row, "rights.expired")
        counts["expired"] = len(stale) + rights.identifier_changes.expire_unconfirmed(conn, now)
    with sp.store.begin(write=False) as conn:
        ready = conn.execute(select(requests.c.id, requests.c.verified_at).where(rights._ready_filter(now))
                             .order_by(requests.c.due_at).limit(200)).all()
        grace = timedelta(hours=s.verify_grace_hours)
        pending = {r.request_id for r in conn.execute(select(identifiers.c.request_id).where(
            identifiers.c.request_id.in_([r.id for r in ready]), identifiers.c.kind.in_(IDENTIFIERS),
            identifiers.c.verified_at.is_(None))).all()}
    for r in ready:
        if r.id in pending and r.verified_at + grace > now:
            counts["waiting"] += 1  # other identifiers may still be verified
            continue
        try:
            request, ok = process_one(rights, r.id)
        except (JobBusy, ConflictError):
            continue
        counts["processed" if ok and request.state == "done" else "waiting" if ok else "failed"] += 1
    with sp.store.begin() as conn:
        soon = conn.execute(select(requests).where(requests.c.state.in_(sorted(OPEN_STATES)),
                                                   requests.c.reminded_at.is_(None),
                                                   requests.c.due_at <= now + timedelta(days=s.remind_days_before))
                            ).all()
        for row in soon:
            records.set_state(conn, row.id, now, reminded_at=now)
            if s.operator_email:
                rights.notify(conn, row.id, "reminder", "operator", suffix=row.due_at.isoformat())
            log.warning("rights request %s (%s) is due on %s", row.id, row.kind, row.due_at.date().isoformat())
        counts["reminders"] = len(soon)
        counts["overdue"] = int(conn.execute(select(func.count()).select_from(requests).where(
            requests.c.state.in_(sorted(OPEN_STATES)), requests.c.due_at < now)).scalar_one())
        counts["unacknowledged"] = int(conn.execute(select(func.count()).select_from(requests).where(
            requests.c.state.in_(sorted(OPEN_STATES)), requests.c.acknowledge_by < now,
            requests.c.acknowledged_at.is_(None))).scalar_one())
        counts["exports_purged"] = int(conn.execute(update(exports).where(
            exports.c.expires_at <= now, exports.c.archive.is_not(None)).values(archive=None,
                                                                                wrapped_key=None)).rowcount)
        cutoff = now - timedelta(days=s.keep_identifiers_days)
        old = select(requests.c.id).where(requests.c.state.in_(sorted(CLOSED_STATES)),
                                          func.coalesce(requests.c.completed_at, requests.c.updated_at) < cutoff)
        counts["identifiers_dropped"] = int(conn.execute(update(identifiers).where(
            identifiers.c.request_id.in_(old), identifiers.c.value.is_not(None)).values(value=None)).rowcount)
        conn.execute(update(requests).where(requests.c.id.in_(old), requests.c.changes.is_not(None)
                                            | requests.c.consent_ref.is_not(None) | requests.c.orders.is_not(None))
                     .values(changes=None, consent_ref=None, orders=None))
        conn.execute(attempts.delete().where(attempts.c.at < now - timedelta(hours=s.rate_window_hours)))
    return counts


# -- shop redaction -------------------------------------------------------------------------------------
def redact_shop(rights: Rights, *, external_id: str) -> Mapping[str, Any]:
    """Every shop source's ``erase_all``, then the SDK's personal data: all subject keys shredded, addresses
    and identifiers dropped, exports deleted, open requests closed. Idempotent by ``external_id``."""
    if not isinstance(external_id, str) or not 0 < len(external_id) <= 200 or not external_id.isprintable():
        raise InvalidInput("external_id must be 1-200 printable characters")
    sp = rights.sp
    with sp.store.begin(write=False) as conn:
        done = conn.execute(select(redactions).where(redactions.c.external_id == external_id)).first()
    if done is not None and done.state == "done":
        return dict(done.receipt)
    received = done.received_at if done is not None else sp.clock()
    receipts: list[dict[str, Any]] = []
    failed: list[str] = []
    for src in rights.shop_sources():
        erase_all = getattr(src, "erase_all", None)
        if erase_all is None:
            receipts.append(SourceReceipt(src.name, (FieldOutcome("*", "manual", "the source has no erase_all"),))
                            .to_json())
            continue
        try:
            receipts.append(erase_all().to_json())
        except Exception as exc:  # noqa: BLE001 - recorded; the redaction is retried with the same id
            failed.append(_error(src.name, exc))
    now = sp.clock()
    with sp.store.begin() as conn:
        keys = conn.execute(update(subject_keys).where(subject_keys.c.wrapped_key.is_not(None)).values(
            wrapped_key=None, key_id=None, shredded_at=now)).rowcount
        addresses = conn.execute(update(email_subjects).values(address=None, customer_ref=None)).rowcount
        conn.execute(update(identifiers).values(value=None))
        conn.execute(update(exports).values(archive=None, wrapped_key=None))
        closed = conn.execute(update(requests).where(requests.c.state.in_(sorted(OPEN_STATES))).values(
            state="rejected", reject_reason="the shop's data was redacted", completed_at=now, updated_at=now)).rowcount
        conn.execute(update(requests).values(changes=None, consent_ref=None, orders=None))
        sdk = SourceReceipt("shopprivacy", (
            FieldOutcome("subject_keys", "erased", "crypto-shredded: every subject-key token is unreadable", keys),
            FieldOutcome("email.address", "erased", rows=addresses),
            FieldOutcome("rights_requests", "anonymised", "identifiers and exports dropped; open ones closed", closed),
            FieldOutcome("email.suppression", "retained", "keyed hashes only"),
            FieldOutcome("audit_log", "retained", "pseudonyms and field names only (Art. 5(2))"),
        ))
        receipt = {"external_id": external_id, "state": "failed" if failed else "done",
                   "sources": [*receipts, sdk.to_json()], "failures": failed, "completed_at": now.isoformat()}
        values = {"state": receipt["state"], "receipt": receipt, "completed_at": None if failed else now}
        if done is None:
            conn.execute(redactions.insert().values(external_id=external_id, received_at=received, **values))
        else:
            conn.execute(update(redactions).where(redactions.c.external_id == external_id).values(**values))
        sp.audit.append(conn, actor="platform", action="rights.shop_redacted",
                        meta={"external": hashlib.sha256(external_id.encode()).hexdigest()[:16],
                              "state": receipt["state"], "keys_shredded": keys})
    return receipt
