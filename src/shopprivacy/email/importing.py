"""Importing the e-mail marketing consent a shop held before the SDK (``sp.email.importing``).

Each record becomes proof marked imported: actions ``imported_opt_in`` / ``imported_unsubscribed``, the
record's original time as the proof time, and ``import:<opt-in level>:<source>`` as its source (``source`` names
where it came from, e.g. ``shopify:gid://shopify/Customer/1``). The rules of changes made on the platform apply
(:class:`~.platform.PlatformChanges`): the newer side wins, so a re-import changes nothing, a local choice newer
than the record is kept, and an imported unsubscribe newer than a local opt-in suppresses. ``pending`` carries
no consent (nothing is written); ``not_subscribed`` withdraws only an older state the SDK holds, so a customer
who never subscribed leaves no trace here.

Every record is checked (:func:`parse_record`) and written in a transaction of its own: a bad one is counted and
reported, never half written, and the others go on. :meth:`ConsentImport.run_source` pages through a platform's
customers with a checkpoint (``sp_jobs``), so an import killed half-way resumes after its last saved page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, Literal, cast

from ..errors import InvalidInput, NotFoundError, ShopPrivacyError
from ..platforms import MarketingConsentSource
from ..progress import Progress
from .opt_in import OPT_IN_LEVELS
from .platform import Level, PlatformChanges, PlatformConsentUpdate
from .records import Meta
from .settings import ALL, EmailSettings

if TYPE_CHECKING:
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from ..store.jobs import Jobs
    from .subjects import Subjects

log = logging.getLogger("shopprivacy.email")

#: Consent states a record may carry (Shopify's ``CustomerEmailMarketingState`` values that hold consent or its
#: absence, lower case).
STATES: tuple[str, ...] = ("subscribed", "unsubscribed", "pending", "not_subscribed")
#: Proof actions of imported consent.
IMPORTED_OPT_IN, IMPORTED_UNSUBSCRIBED = "imported_opt_in", "imported_unsubscribed"
Outcome = Literal["imported", "unchanged", "skipped"]
_SOURCE = re.compile(r"^[a-z][a-z0-9_-]{0,29}:[\x21-\x7e]{1,65}$")
_ADDRESS = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_KEYS = frozenset({"address", "list", "state", "opt_in_level", "consented_at", "source", "customer_ref"})
#: How many record errors a report keeps (all are counted).
MAX_ERRORS = 100


@dataclass(frozen=True)
class ImportRecord:
    """One checked record: where ``address`` stood on ``list_id`` (``"*"``: every marketing list) at
    ``consented_at``, and where the record came from."""

    address: str = field(repr=False)
    list_id: str
    state: str
    opt_in_level: Level
    consented_at: datetime | None
    source: str
    customer_ref: str | None = None

    @property
    def platform(self) -> str:
        return self.source.split(":", 1)[0]


def _text(raw: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{key} must be a non-empty text")
    return value.strip()


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput("consented_at must be an ISO 8601 date-time with a UTC offset") from None
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput("consented_at must be an ISO 8601 date-time with a UTC offset")
    return value.astimezone(timezone.utc)


def parse_record(raw: Mapping[str, Any]) -> ImportRecord:
    """Check one record; InvalidInput naming the first problem. Keys: ``address``, ``list`` (default ``"*"``),
    ``state`` (:data:`STATES`), ``opt_in_level`` (single_opt_in, confirmed_opt_in, unknown; default unknown),
    ``consented_at`` (ISO 8601 with offset, or None), ``source`` (``<platform>:<id>``), ``customer_ref``."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("a consent record must be a mapping")
    unknown = sorted(str(k) for k in raw if k not in _KEYS)
    if unknown:
        raise InvalidInput(f"unknown key {unknown[0][:40]!r} (keys: {', '.join(sorted(_KEYS))})")
    address = cast(str, _text(raw, "address"))
    if len(address) > 320 or not _ADDRESS.match(address):
        raise InvalidInput("address is not an e-mail address")
    list_id = _text(raw, "list", required=False) or ALL
    if len(list_id) > 60:
        raise InvalidInput("list is longer than 60 characters")
    state = cast(str, _text(raw, "state")).lower()
    if state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}")
    level = (_text(raw, "opt_in_level", required=False) or "unknown").lower()
    if level not in OPT_IN_LEVELS:
        raise InvalidInput(f"opt_in_level must be one of {', '.join(OPT_IN_LEVELS)}")
    at = _time(raw.get("consented_at"))
    if state == "subscribed" and at is None:
        raise InvalidInput("a subscribed record needs consented_at: without it there is no proof of when")
    source = cast(str, _text(raw, "source"))
    if not _SOURCE.match(source):
        raise InvalidInput("source must read '<platform>:<id>' (lower-case platform, at most 96 characters)")
    ref = _text(raw, "customer_ref", required=False)
    if ref is not None and len(ref) > 200:
        raise InvalidInput("customer_ref is longer than 200 characters")
    return ImportRecord(address=address, list_id=list_id, state=state, opt_in_level=cast(Level, level),
                        consented_at=at, source=source, customer_ref=ref)


@dataclass
class ImportReport:
    """What an import did: ``imported`` records changed what the SDK holds, ``unchanged`` ones it already held
    (or held something newer), ``skipped`` ones carried no consent to record, ``failed`` ones were refused (the
    first :data:`MAX_ERRORS` reasons in ``errors``, each naming the record's position and source)."""

    imported: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    pages: int = 0
    resumed: bool = False
    dry_run: bool = False

    @property
    def records(self) -> int:
        return self.imported + self.unchanged + self.skipped + self.failed

    def counts(self) -> dict[str, int]:
        return {"imported": self.imported, "unchanged": self.unchanged, "skipped": self.skipped,
                "failed": self.failed, "pages": self.pages}

    def refuse(self, position: int, raw: Any, exc: ShopPrivacyError) -> None:
        """Count a refused record and keep its reason (its position and source, never its address)."""
        self.failed += 1
        if len(self.errors) < MAX_ERRORS:
            source = raw.get("source") if isinstance(raw, Mapping) else None
            where = f" ({source[:100]})" if isinstance(source, str) and _SOURCE.match(source.strip()) else ""
            self.errors.append(f"record {position}{where}: {exc}")


class _Imported(PlatformChanges):
    """The platform-change rules, with proof marked imported and the record's source kept."""

    opt_in_action = IMPORTED_OPT_IN
    opt_out_action = IMPORTED_UNSUBSCRIBED
    audit_verb = "imported"

    def _meta(self, change: PlatformConsentUpdate, level: str) -> Meta:
        return Meta(source=f"import:{level}:{change.collected_from or change.platform}"[:120])


class ConsentImport:
    """``sp.email.importing``: records existing consent as imported proof, from records or a platform."""

    def __init__(self, settings: EmailSettings, *, store: Store, audit: AuditLog, clock: Callable[[], datetime],
                 subjects: Subjects, jobs: Callable[[], Jobs]) -> None:
        self._settings = settings
        self._jobs = jobs
        self._rules = _Imported(settings, store=store, audit=audit, clock=clock, subjects=subjects)

    def record(self, raw: Mapping[str, Any], *, list_id: str | None = None, dry_run: bool = False) -> Outcome:
        """Import one record (``list_id`` overrides its list); what happened to it. InvalidInput (or
        NotFoundError for an undeclared list) when it is refused: nothing of it was written."""
        rec = parse_record(raw)
        target = list_id or rec.list_id
        self._settings.check_list(target)
        if target != ALL and self._settings.lists[target].kind != "marketing":
            raise InvalidInput(f"list {target!r} is transactional: it has no marketing consent")
        if rec.state == "pending":
            return "skipped"
        newest = self._rules.newest(rec.address, target) if dry_run or rec.state == "not_subscribed" else None
        if rec.state == "not_subscribed" and (newest is None or rec.consented_at is None):
            return "skipped"  # never subscribed here (or no time to weigh against what is held): nothing to withdraw
        if dry_run:
            stale = rec.consented_at is not None and newest is not None and rec.consented_at <= newest
            return "unchanged" if stale else "imported"
        change = self._rules.apply(PlatformConsentUpdate(
            platform=rec.platform, address=rec.address, subscribed=rec.state == "subscribed",
            updated_at=rec.consented_at, list_id=target, opt_in_level=rec.opt_in_level,
            customer_ref=rec.customer_ref, collected_from=rec.source))
        return "imported" if change.changed else "unchanged"

    def run(self, records: Iterable[Mapping[str, Any]], *, list_id: str | None = None, dry_run: bool = False,
            report: ImportReport | None = None, start: int = 0) -> ImportReport:
        """Import ``records`` one by one (each in its own transaction); bad ones are counted in the report."""
        report = report or ImportReport(dry_run=dry_run)
        for position, raw in enumerate(records, start=start + 1):
            try:
                outcome = self.record(raw, list_id=list_id, dry_run=dry_run)
            except (InvalidInput, NotFoundError) as exc:
                report.refuse(position, raw, exc)
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    def run_source(self, source: MarketingConsentSource, *, name: str, list_id: str | None = None,
                   dry_run: bool = False, restart: bool = False, stream: IO[str] | None = None) -> ImportReport:
        """Import what ``source`` (a platform adapter) holds, page by page. Each page's cursor and the counts so
        far are checkpointed under the job ``email.import:<name>:<list>``: run again after a crash (or kill -9)
        and it resumes after the last saved page (``restart``: from the first page). Records of a page cut
        short are imported again, which changes nothing. A dry run writes nothing, checkpoint included."""
        if list_id is not None:
            self._settings.check_list(list_id)
        lists = [list_id] if list_id not in (None, ALL) else [
            lid for lid, ml in self._settings.lists.items() if ml.kind == "marketing"]
        if not lists:
            raise InvalidInput("no marketing list is declared (SHOPPRIVACY_EMAIL__LISTS): there is nothing to "
                               "import consent into")
        label = f"consent import {name}"
        if dry_run:
            report = ImportReport(dry_run=True)
            with Progress(label, stream=stream) as progress:
                for page in source.marketing_consent_pages(after=None, lists=lists):
                    self.run(page.records, list_id=list_id, dry_run=True, report=report, start=report.records)
                    report.pages += 1
                    progress.advance(len(page.records))
            return report
        with self._jobs().run(f"email.import:{name}:{list_id or ALL}", restart=restart) as job, \
                Progress(label, stream=stream) as progress:
            saved: dict[str, Any] = dict(job.checkpoint or {})
            report = ImportReport(resumed=job.resumed)
            for key, value in (saved.get("counts") or {}).items():
                if key in ("imported", "unchanged", "skipped", "failed", "pages") and isinstance(value, int):
                    setattr(report, key, value)
            report.errors = [e for e in saved.get("errors") or () if isinstance(e, str)][:MAX_ERRORS]
            after = saved.get("after") if job.resumed else None
            if job.resumed:
                log.info("%s resumes after page %s", label, report.pages)
            pages = () if job.resumed and saved.get("complete") else source.marketing_consent_pages(
                after=after if isinstance(after, str) else None, lists=lists)
            for page in pages:
                self.run(page.records, list_id=list_id, report=report, start=report.records)
                report.pages += 1
                job.save_now({"after": page.cursor, "complete": page.cursor is None, "counts": report.counts(),
                              "errors": report.errors}, processed=len(page.records))
                progress.advance(len(page.records))
        log.info("%s: %s", label, report.counts())
        return report


__all__ = ["IMPORTED_OPT_IN", "IMPORTED_UNSUBSCRIBED", "MAX_ERRORS", "STATES", "ConsentImport", "ImportRecord",
           "ImportReport", "parse_record"]
