"""The renewal runner: stream due subscriptions, minimise, claim (subscription, period), bill, clean.

Every renewal is claimed in ``sp_renewal_attempts`` before the platform is asked to bill, with an
idempotency key derived from (subscription, billing period). A worker killed with -9 leaves the claim;
the next run takes it over once the holder is gone and bills with the *same* key, which the platform
deduplicates, so no period is billed twice. Concurrent workers split the work by the claim's primary key.
Only a definite answer settles a renewal for good; a call whose outcome is unknown is asked again with the same
key (:mod:`.billing`). Every run leaves one ``renewal.run`` audit entry, a crashed one too (:mod:`.runs`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from ..errors import OutcomeUnknown, PlatformAuthError, PlatformError, ShopPrivacyError
from ..keys import Keyring
from ..platforms import BillingResult, RenewalOrderCleaner, SubscriptionSource, bills_renewals_itself, require
from ..progress import Progress
from ..store import AuditLog, Store, utcnow
from ..store.jobs import Jobs, holder_is_dead
from ..store.outbox import worker_id
from .billing import UnknownOutcomeRetry, cause_name
from .runs import RunHandle, RunLog
from .split import Shard, chunks, known_states
from .tables import renewal_attempts
from .view import ALLOWED_FIELDS, DropCounter, RenewalRecord, ViewResult, build_view

if TYPE_CHECKING:
    from ..retention import Retention
    from ..store.restrictions import SubjectRestrictions

log = logging.getLogger("shopprivacy.renewals")

#: ``charge(record, idempotency_key=...) -> BillingResult``: the shop's own billing call.
Charge = Callable[..., BillingResult]
#: ``recover(subscription_id, idempotency_key=...) -> BillingResult``: settle an interrupted attempt.
Recover = Callable[..., BillingResult]


@dataclass(frozen=True)
class _Ref:
    subscription_id: str
    period: str


_MAX_NAMES = 500
#: Records checked against the claims in one query before they are claimed one by one.
_PAGE = 500
_FINAL = ("billed", "failed")


@dataclass
class RunReport:
    """Counts of one run. ``dropped`` counts field names removed by the view; ``skipped`` counts reasons."""

    seen: int = 0
    billed: int = 0
    pending: int = 0
    failed: int = 0
    already_done: int = 0
    busy: int = 0
    errors: int = 0
    cleaned_orders: int = 0
    would_bill: int = 0
    in_doubt: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        return {"seen": self.seen, "billed": self.billed, "pending": self.pending, "failed": self.failed,
                "already_done": self.already_done, "busy": self.busy, "errors": self.errors,
                "skipped": sum(self.skipped.values()), "dropped_fields": sum(self.dropped.values()),
                "cleaned_orders": self.cleaned_orders, "would_bill": self.would_bill, "in_doubt": self.in_doubt}


class Renewals:
    """``sp.renewals``: the renewal view and the runner.

    ``adapter`` gives the platform adapter when a run is not handed one; ``retention`` is used on platforms
    that bill by themselves, to keep customers with a live subscription under a legal hold. ``restrictions``
    returns the subject restrictions of rights requests: a customer who restricted processing (GDPR Art. 18) is
    not billed (counted in ``skipped["restricted"]``).
    ``claim_seconds`` is how long a claim (and a run's record) holds without news from its worker;
    ``unknown_tries`` how many calls a billing whose outcome is unknown gets in one run, ``unknown_backoff``
    the first wait between them (doubling), ``sleep`` how to wait.
    """

    def __init__(self, *, store: Store, audit: AuditLog, keyring: Keyring, retention: Retention,
                 adapter: Callable[[], Any], clock: Callable[[], datetime] = utcnow, claim_seconds: float = 900.0,
                 unknown_tries: int = 3, unknown_backoff: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep,
                 restrictions: Callable[[], SubjectRestrictions | None] | None = None) -> None:
        self._restrictions = restrictions
        self.store, self.audit, self.keyring, self.retention, self.clock = store, audit, keyring, retention, clock
        self._adapter = adapter
        self.claim = timedelta(seconds=claim_seconds)
        self.unknown_tries = unknown_tries
        self.unknown_backoff = unknown_backoff
        self.sleep = sleep

    @cached_property
    def runs(self) -> RunLog:
        """The record of runs (one ``renewal.run`` audit entry each, crashed runs included)."""
        jobs = Jobs(self.store, lease=self.claim, clock=self.clock)
        return RunLog(self.store, self.audit, jobs, clock=self.clock)

    def _retry(self) -> UnknownOutcomeRetry:
        return UnknownOutcomeRetry(tries=self.unknown_tries, backoff=self.unknown_backoff, sleep=self.sleep)

    def view(self, raw: Mapping[str, Any], *, keep_email: bool = True) -> ViewResult:
        """The allow-listed :class:`RenewalRecord` of one raw subscription, and the dropped field names."""
        return build_view(raw, keep_email=keep_email)

    # -- claims ----------------------------------------------------------------------------------------
    def _claim(self, record: RenewalRecord, owner: str) -> tuple[str, str | None]:
        """('go', key) when this worker owns the (subscription, period) now, else (reason, None)."""
        now = self.clock()
        key, t = record.idempotency_key, renewal_attempts
        store = self.store
        with store.begin() as conn:
            ins = pg_insert(t) if store.dialect == "postgresql" else sqlite_insert(t)
            inserted = conn.execute(ins.values(
                subscription_id=record.subscription_id, period=record.period, idempotency_key=key,
                status="claimed", owner=owner, claimed_until=now + self.claim, cleaned_fields=0, created_at=now,
                updated_at=now).on_conflict_do_nothing().returning(t.c.subscription_id)).first()
            if inserted is not None:
                return "go", key
            q = select(t).where(t.c.subscription_id == record.subscription_id, t.c.period == record.period)
            row = conn.execute(q.with_for_update() if store.dialect == "postgresql" else q).one()
            if row.status in _FINAL:
                return "already_done", None
            live = row.claimed_until is not None and row.claimed_until > now
            if live and row.owner != owner and not holder_is_dead(row.owner):
                return "busy", None
            conn.execute(update(t).where(t.c.subscription_id == row.subscription_id, t.c.period == row.period)
                         .values(status="claimed", owner=owner, claimed_until=now + self.claim, updated_at=now))
            return "go", str(row.idempotency_key)

    def _finish(self, record: RenewalRecord | _Ref, owner: str, **values: Any) -> None:
        t = renewal_attempts
        with self.store.begin() as conn:
            conn.execute(update(t).where(t.c.subscription_id == record.subscription_id,
                                         t.c.period == record.period, t.c.owner == owner)
                         .values(updated_at=self.clock(), **values))

    def _stale_claims(self, owner: str) -> list[Any]:
        """Claims (and pending attempts) whose holder died or whose claim ran out."""
        t, now = renewal_attempts, self.clock()
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(t.c.subscription_id, t.c.period, t.c.idempotency_key, t.c.owner,
                                       t.c.claimed_until).where(t.c.status.in_(("claimed", "pending")))
                                .order_by(t.c.updated_at).limit(10_000)).all()
        return [r for r in rows if r.owner != owner and (r.claimed_until is None or r.claimed_until <= now
                                                          or holder_is_dead(r.owner))]

    def recover(self, adapter: Any = None, *, recover: Recover | None = None, use_adapter: bool = True) -> RunReport:
        """Write the missing ``renewal.run`` entry of runs that crashed, then settle claims left by dead workers
        with their stored idempotency key (the platform returns the first attempt's result, so nothing is
        billed twice). Without ``recover`` the adapter's ``create_billing_attempt`` settles them; claims it
        cannot settle, or whose outcome stays unknown, are counted as ``in_doubt`` and left open."""
        report = RunReport()
        unsettled = self._recover(adapter, worker_id(), report, self._retry(), recover=recover,
                                  use_adapter=use_adapter)
        report.in_doubt += len(unsettled)
        return report

    def _recover(self, adapter: Any, owner: str, report: RunReport, retry: UnknownOutcomeRetry, *,
                 recover: Recover | None, use_adapter: bool) -> set[tuple[str, str]]:
        """Settle stale claims; returns the (subscription, period) of those it had no way to settle."""
        self.runs.close_crashed()
        unsettled: set[tuple[str, str]] = set()
        adapter = self._adapter() if adapter is None else adapter
        source = adapter if use_adapter and isinstance(adapter, SubscriptionSource) else None
        cleaner = adapter if isinstance(adapter, RenewalOrderCleaner) else None
        t = renewal_attempts
        for row in self._stale_claims(owner):
            now = self.clock()
            with self.store.begin() as conn:
                taken = conn.execute(update(t).where(t.c.subscription_id == row.subscription_id,
                                                     t.c.period == row.period, t.c.owner == row.owner,
                                                     t.c.status.in_(("claimed", "pending")))
                                     .values(owner=owner, claimed_until=now + self.claim, updated_at=now)).rowcount
            if not taken:
                continue
            ref, key = _Ref(row.subscription_id, row.period), str(row.idempotency_key)
            if recover is not None:
                self._bill(ref, owner, partial(recover, ref.subscription_id, idempotency_key=key), cleaner,
                           report, retry)
            elif source is not None:
                self._bill(ref, owner, partial(source.create_billing_attempt, ref.subscription_id,
                                               idempotency_key=key, origin_time=now), cleaner, report, retry)
            else:
                unsettled.add((ref.subscription_id, ref.period))
                self._finish(ref, owner, claimed_until=now)
        return unsettled

    # -- the run ---------------------------------------------------------------------------------------
    def iter_views(self, adapter: Any, *, until: datetime, keep_email: bool = True,
                   counter: DropCounter | None = None,
                   encrypt_email: Callable[[str, str], str] | None = None) -> Iterator[ViewResult]:
        """Stream the minimised views of everything due before ``until`` (minimal fetch, constant memory)."""
        source = require(adapter, SubscriptionSource, "renewals (iter_due_subscriptions)")
        fields = ALLOWED_FIELDS if keep_email else ALLOWED_FIELDS - {"email"}
        for raw in source.iter_due_subscriptions(due_before=until, fields=fields):
            result = build_view(raw, keep_email=keep_email, encrypt_email=encrypt_email)
            if counter is not None:
                counter.add(result)
            yield result

    def run(self, adapter: Any = None, *, charge: Charge | None = None, until: datetime | None = None,
            dry_run: bool = False, keep_email: bool = True, stream: IO[str] | None = None,
            out: Callable[[str], None] | None = None, recover: Recover | None = None,
            encrypt_email: Callable[[str, str], str] | None = None, shard: Shard | None = None) -> RunReport:
        """Bill every subscription due before ``until`` (default now) once per period.

        ``charge(record, idempotency_key=...)`` bills through the shop's own code; without it the adapter's
        ``create_billing_attempt`` is used, except on a platform that bills by itself
        (:func:`~shopprivacy.platforms.bills_renewals_itself`), where the run does upkeep only (:mod:`.upkeep`).
        ``dry_run`` bills nothing and reports (through ``out``) what would be billed and which field names the
        view drops. Claims left by dead workers are settled first (:meth:`recover`; pass ``recover`` along
        with ``charge`` to settle them through the shop).
        ``encrypt_email(address, subscription_id)`` replaces the receipt address in the view (e.g. with
        ``sp.fields.encrypt(address, context="renewal.email", row=subscription_id)``).
        ``shard`` (:class:`~.split.Shard`) splits the work between workers started together: each bills its
        share first, then takes over whatever the others left unclaimed.
        """
        adapter = self._adapter() if adapter is None else adapter
        source = require(adapter, SubscriptionSource, "renewals (iter_due_subscriptions)")
        if charge is None and bills_renewals_itself(adapter):  # the platform bills: upkeep only (upkeep.py)
            from .upkeep import run_upkeep
            return run_upkeep(adapter, retention=self.retention, audit=self.audit, keyring=self.keyring,
                              until=until or self.clock(), dry_run=dry_run, stream=stream, out=out)
        cleaner = adapter if isinstance(adapter, RenewalOrderCleaner) else None
        views = partial(self.iter_views, source, until=until or self.clock(), keep_email=keep_email,
                        encrypt_email=encrypt_email)
        counter = DropCounter()
        report = RunReport(skipped=counter.skipped)
        if dry_run:
            with Progress("renewals", stream=stream) as progress:
                for record, dropped in self._records(views(counter=counter), report, progress):
                    report.would_bill += 1
                    if out is not None:
                        out(f"would bill {record.subscription_id} {record.amount} {record.currency} period "
                            f"{record.period}; dropped {len(dropped)} field(s)")
            report.dropped = Counter(dict(counter.dropped.most_common(_MAX_NAMES)))
            return report
        owner, retry = worker_id(), self._retry()
        run = self.runs.start(owner)
        try:
            unsettled = self._recover(adapter, owner, report, retry, recover=recover, use_adapter=charge is None)
            with Progress("renewals", stream=stream) as progress:
                # a shard's own share first, then the others' (what no live worker claimed); unsharded: one pass
                for mine in ((True, False) if shard is not None else (None,)):
                    records = self._records(views(counter=counter if mine is not False else None), report,
                                            progress, run, shard=shard, mine=mine, tally=False)
                    for page in chunks(records, _PAGE):
                        known = known_states(self.store, [(r.subscription_id, r.period) for r, _ in page],
                                             owner=owner, now=self.clock())
                        for record, _ in page:
                            self._seen(report, progress, run)
                            unsettled.discard((record.subscription_id, record.period))  # still due: billed below
                            state = known.get((record.subscription_id, record.period))
                            if state is not None:
                                setattr(report, state, getattr(report, state) + 1)
                            else:
                                self._renew(record, source, cleaner, charge, owner, report, retry)
            report.in_doubt += len(unsettled)
        except BaseException as exc:
            self._close(run, report, counter, outcome="aborted", error=type(exc).__name__)
            raise
        self._close(run, report, counter, outcome="completed")
        return report

    def _records(self, views: Iterator[ViewResult], report: RunReport, progress: Progress,
                 run: RunHandle | None = None, *, shard: Shard | None = None,
                 mine: bool | None = None, tally: bool = True) -> Iterator[tuple[RenewalRecord, Sequence[str]]]:
        """The renewable records of ``views`` with their dropped field names, counting what was seen and
        checkpointing the run's counts (``tally=False``: the caller counts each record it takes up, with
        :meth:`_seen`). With a ``shard``, only the records it owns (``mine``) or only the others' (skips are
        counted in the pass over the shard's own share). A customer whose processing is restricted is skipped
        and counted (the list of restricted subjects is read once per pass)."""
        restrictions = self._restrictions() if self._restrictions is not None else None
        blocked = restrictions.blocked_index("renewal") if restrictions is not None else set()
        for result in views:
            if shard is not None and mine is not None:
                # a view skipped as unusable is counted with the shard's own share
                ours = result.record is None or shard.owns(result.record.subscription_id)
                if ours != mine:
                    continue
            record = result.record
            if record is None:
                self._seen(report, progress, run)
                log.info("renewal skipped: %s", result.skip_reason)
                continue
            if blocked and restrictions is not None and restrictions.matches(blocked, {
                    "customer_id": record.customer_ref,
                    "email": record.email if record.email and "@" in record.email else None}):
                self._seen(report, progress, run)
                report.skipped["restricted"] += 1
                log.info("renewal skipped: the customer restricted processing")
                continue
            if tally:
                self._seen(report, progress, run)
            yield record, result.dropped

    @staticmethod
    def _seen(report: RunReport, progress: Progress, run: RunHandle | None) -> None:
        """Count one subscription as seen and checkpoint the run's counts (now and then)."""
        report.seen += 1
        progress.advance()
        if run is not None:
            run.progress(report.counts())

    def _close(self, run: RunHandle, report: RunReport, counter: DropCounter, *, outcome: str,
               error: str | None = None) -> None:
        report.dropped = Counter(dict(counter.dropped.most_common(_MAX_NAMES)))
        try:
            self.runs.close(run, report.counts(), outcome=outcome, error=error)
        except (ShopPrivacyError, SQLAlchemyError) as exc:
            if outcome == "completed":
                raise
            # already failing: keep the first error; the run's record is closed later as crashed
            log.warning("renewal run could not write its entry (%s)", type(exc).__name__)

    def _renew(self, record: RenewalRecord, source: SubscriptionSource, cleaner: RenewalOrderCleaner | None,
               charge: Charge | None, owner: str, report: RunReport, retry: UnknownOutcomeRetry) -> None:
        state, key = self._claim(record, owner)
        if key is None:
            setattr(report, state, getattr(report, state) + 1)
            return
        # every call of one attempt is the same call: same key (and the same origin time)
        call = (partial(charge, record, idempotency_key=key) if charge is not None else
                partial(source.create_billing_attempt, record.subscription_id, idempotency_key=key,
                        origin_time=self.clock()))
        result = self._bill(record, owner, call, cleaner, report, retry)
        if result is not None:
            log.info("renewal of %s: %s", self.keyring.pseudonym(record.customer_ref, namespace="customer"),
                     result.status)

    def _bill(self, record: RenewalRecord | _Ref, owner: str, call: Callable[[], BillingResult],
              cleaner: RenewalOrderCleaner | None, report: RunReport,
              retry: UnknownOutcomeRetry) -> BillingResult | None:
        """Bill through ``call`` (repeated while the outcome is unknown) and record what came of it."""
        who = self.keyring.pseudonym(record.subscription_id, namespace="subscription")
        try:
            result = retry.call(call, who=who)
        except OutcomeUnknown as exc:
            report.in_doubt += 1  # maybe billed, maybe not: open, asked again with the same key next run
            self._finish(record, owner, claimed_until=self.clock(), error_code=f"unknown:{cause_name(exc)}"[:120])
            return None
        except PlatformAuthError as exc:
            # nothing was billed and every later call would be refused alike: leave the period open (billed
            # once the credentials are fixed) and end the run with the error
            self._finish(record, owner, claimed_until=self.clock(), error_code=f"auth:{type(exc).__name__}"[:120])
            raise
        except PlatformError as exc:
            self._failed(record, owner, exc, report)
            return None
        self._settle(record, owner, result, cleaner, report)
        return result

    def _failed(self, record: RenewalRecord | _Ref, owner: str, exc: PlatformError, report: RunReport) -> None:
        """A definite refusal: final unless the platform called it temporary (then left for the next run)."""
        report.errors += 1
        log.warning("renewal of subscription %s failed (%s)",
                    self.keyring.pseudonym(record.subscription_id, namespace="subscription"), type(exc).__name__)
        if exc.retryable:
            self._finish(record, owner, claimed_until=self.clock(), error_code=type(exc).__name__)
        else:
            self._finish(record, owner, status="failed", claimed_until=None, error_code=type(exc).__name__)

    def _settle(self, record: RenewalRecord | _Ref, owner: str, result: BillingResult,
                cleaner: RenewalOrderCleaner | None, report: RunReport) -> None:
        cleaned: tuple[str, ...] = ()
        if result.status == "ready" and result.order_id and cleaner is not None:
            cleaned = cleaner.clean_renewal_order(result.order_id)
            report.cleaned_orders += 1 if cleaned else 0
        status = {"ready": "billed", "pending": "pending", "failed": "failed"}[result.status]
        self._finish(record, owner, status=status, attempt_id=result.attempt_id[:200],
                     order_id=(result.order_id or "")[:200] or None, error_code=result.error_code,
                     cleaned_fields=len(cleaned), claimed_until=self.clock() if status == "pending" else None)
        setattr(report, status, getattr(report, status) + 1)
