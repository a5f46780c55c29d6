"""The retention service behind ``sp.retention``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from ..errors import InvalidInput, JobBusy, RuleError, ShopPrivacyError, UnsupportedOperation
from ..progress import Progress
from ..store import AuditLog, Jobs, Store, utcnow
from .defaults import default_rules
from .platform import PlatformTarget
from .rules import Rule, check_unique, load_rules
from .settings import RetentionSettings
from .sweeper import BatchSizer, PlanLine, Receipt, Target, shredder, timed, write_receipt
from .tables import legal_holds, retention_receipts

if TYPE_CHECKING:
    from ..fields.api import Fields
    from ..store.restrictions import SubjectRestrictions

log = logging.getLogger("shopprivacy.retention")


def _no_platform() -> object:
    raise UnsupportedOperation("retention of platform objects needs a platform adapter")


class Retention:
    """``sp.retention``: the default rules plus the shop's (``add``, ``load``), ``plan`` and ``sweep``.

    ``adapter`` and ``fields`` give the platform adapter and the encrypted-fields capability when a rule
    needs them (platform objects; ``shred``), so neither is built for a shop whose rules don't; ``restrictions``
    the subject restrictions of rights requests (rows of restricted people are kept by rules exempting them).
    """

    def __init__(self, settings: RetentionSettings | None = None, *, store: Store, audit: AuditLog, jobs: Jobs,
                 adapter: Callable[[], object] = _no_platform, fields: Callable[[], Fields | None] = lambda: None,
                 clock: Callable[[], datetime] = utcnow, defaults: bool = True,
                 restrictions: Callable[[], SubjectRestrictions | None] = lambda: None) -> None:
        self.store, self.audit, self.jobs, self.clock = store, audit, jobs, clock
        self._restrictions = restrictions
        self._adapter, self._fields = adapter, fields
        self._rules: dict[str, Rule] = {}
        self._engines: dict[str, Engine] = {}
        if defaults and (settings is None or settings.defaults):
            self.add(*default_rules())
        if settings is not None and settings.rules_file is not None:
            self.load(settings.rules_file)

    # -- rules -----------------------------------------------------------------------------------------
    @property
    def rules(self) -> list[Rule]:
        return list(self._rules.values())

    def add(self, *rules: Rule) -> None:
        """Add rules (a shop rule may replace a default of the same name)."""
        check_unique(rules)
        for rule in rules:
            self._rules[rule.name] = rule

    def load(self, path: str | Path) -> list[Rule]:
        """Add the rules of a TOML file; a malformed rule raises RuleError naming it, adding nothing."""
        rules = load_rules(path)
        self.add(*rules)
        return rules

    def remove(self, name: str) -> None:
        if self._rules.pop(name, None) is None:
            raise RuleError(name, "no such rule")

    def _selected(self, names: Iterable[str] | None) -> list[Rule]:
        if names is None:
            return self.rules
        missing = [n for n in names if n not in self._rules]
        if missing:
            raise RuleError(missing[0], "no such rule")
        return [self._rules[n] for n in names]

    # -- legal holds -----------------------------------------------------------------------------------
    def hold(self, entity: str, row_key: str, *, reason: str) -> None:
        """Keep a row of ``entity`` (table name) out of every rule with a legal_hold exemption."""
        if not entity or not row_key or not reason or len(reason) > 200 or len(row_key) > 200:
            raise InvalidInput("a hold needs an entity, a row key and a reason (at most 200 characters)")
        t = legal_holds
        with self.store.begin() as conn:
            ins = pg_insert(t) if self.store.dialect == "postgresql" else sqlite_insert(t)
            conn.execute(ins.values(entity=entity, row_key=str(row_key), reason=reason, placed_at=self.clock())
                         .on_conflict_do_nothing())
            self.audit.append(conn, actor="retention", action="retention.hold", meta={"entity": entity[:200]})

    def is_held(self, entity: str, row_key: str) -> bool:
        """Whether a row of ``entity`` is under a legal hold."""
        with self.store.begin(write=False) as conn:
            return conn.execute(select(legal_holds.c.row_key).where(
                legal_holds.c.entity == entity, legal_holds.c.row_key == str(row_key))).first() is not None

    def release(self, entity: str, row_key: str) -> bool:
        with self.store.begin() as conn:
            n = conn.execute(delete(legal_holds).where(legal_holds.c.entity == entity,
                                                       legal_holds.c.row_key == str(row_key))).rowcount
            if n:
                self.audit.append(conn, actor="retention", action="retention.release",
                                     meta={"entity": entity[:200]})
        return bool(n)

    # -- plan and sweep --------------------------------------------------------------------------------
    def _target(self, rule: Rule) -> Target | PlatformTarget:
        if rule.entity == "platform":
            return PlatformTarget(self._adapter(), self.store, rule)
        return Target(self.store, rule, self._engines, self._restrictions())

    def plan(self, names: Iterable[str] | None = None, *, now: datetime | None = None) -> list[PlanLine]:
        """What each rule would change now (a dry run: nothing is written)."""
        now = now or self.clock()
        lines = []
        for rule in self._selected(names):
            cutoff = now - rule.keep_for
            if rule.entity == "audit":
                from ..store.schema import audit_log
                with self.store.begin(write=False) as conn:
                    from sqlalchemy import func
                    due = conn.execute(select(func.count()).select_from(audit_log)
                                       .where(audit_log.c.at < cutoff)).scalar_one()
                lines.append(PlanLine(rule.name, rule.action, "audit", int(due), 0))
                continue
            due, exempt = self._target(rule).count(cutoff)
            lines.append(PlanLine(rule.name, rule.action, rule.entity_name, due, exempt))
        return lines

    def sweep(self, names: Iterable[str] | None = None, *, now: datetime | None = None,
              stream: IO[str] | None = None) -> list[Receipt]:
        """Enforce the rules in small batches; one receipt per rule. Safe to interrupt and run again."""
        now = now or self.clock()
        rules = self._selected(names)
        for rule in rules:
            shredder(self._fields(), self.store, rule)  # fail before any work when a rule cannot run here
        return [self._sweep_rule(rule, now, stream) for rule in rules]

    def _sweep_rule(self, rule: Rule, now: datetime, stream: IO[str] | None) -> Receipt:
        cutoff = now - rule.keep_for
        started = self.clock()
        if rule.entity == "audit":
            n, ms = timed(lambda: self.audit.truncate(before=cutoff))
            receipt = Receipt(rule.name, rule.action, "audit", cutoff, n, 0, 1 if n else 0, int(ms))
            if n:  # a run that changed nothing leaves no receipt: run-due sweeps every minute
                with self.store.begin() as conn:
                    write_receipt(conn, receipt, started, self.clock())
            return receipt
        target = self._target(rule)
        shred = shredder(self._fields(), self.store, rule)
        _, exempt = target.count(cutoff)
        held = target.held_keys() if target.python_holds() else set()
        with self.jobs.run(f"retention:{rule.name}") as job, Progress(f"retention {rule.name}",
                                                                          stream=stream) as progress:
            cp: dict[str, Any] = dict(job.checkpoint or {})
            if job.resumed and cp.get("cutoff"):  # finish the interrupted sweep with its own cutoff
                cutoff = datetime.fromisoformat(cp["cutoff"])
            else:
                cp = {"cutoff": cutoff.isoformat(), "after": None, "processed": 0, "batches": 0, "longest_ms": 0}
            sizer = BatchSizer(rule.batch_size, rule.batch_ms)
            while True:
                keys = target.next_batch(cutoff, cp["after"], sizer.size)
                if not keys:
                    break
                work = [k for k in keys if str(k) not in held] if held else keys
                started_batch = time.perf_counter()
                n, _ = self._apply_batch(rule, target, work, cutoff, shred, cp, keys[-1], job)
                sizer.record(len(keys), (time.perf_counter() - started_batch) * 1000)  # the writes, not the scan
                progress.advance(n)
            receipt = Receipt(rule.name, rule.action, rule.entity_name, cutoff, int(cp["processed"]), exempt,
                              int(cp["batches"]), int(cp["longest_ms"]))
            if receipt.processed:  # a run that changed nothing leaves no receipt: run-due sweeps every minute
                with self.store.begin() as conn:
                    write_receipt(conn, receipt, started, self.clock())
                    self.audit.append(conn, actor="retention", action="retention.receipt",
                                         meta={"rule": rule.name, "processed": receipt.processed,
                                               "exempt": receipt.exempt})
        return receipt

    def _apply_batch(self, rule: Rule, target: Target | PlatformTarget, keys: list[Any], cutoff: datetime, shred: Any,
                     cp: dict[str, Any], last: Any, job: Any) -> tuple[int, float]:
        """One batch. In the SDK's database the work, its audit entry and the checkpoint commit together
        (anonymise and shred: one transaction per row, the last row carrying the checkpoint); in the
        shop's database the checkpoint follows the work (re-applying a batch is harmless)."""
        groups = [[k] for k in keys] if rule.action in ("anonymise", "shred") else [keys]
        done, longest = 0, 0.0
        for i, group in enumerate(groups):
            started = time.perf_counter()
            if isinstance(target, PlatformTarget):
                done += target.apply(None, group, cutoff, shred) if group else 0
                longest = max(longest, (time.perf_counter() - started) * 1000)
                continue
            with self.store.begin() if target.same_db else target.engine.begin() as conn:
                n = target.apply(conn, group, cutoff, shred) if group else 0
                done += n
                if target.same_db and i == len(groups) - 1:
                    self._checkpoint(conn, rule, cp, last, done, job)
            longest = max(longest, (time.perf_counter() - started) * 1000)
        if not target.same_db or not groups:
            with self.store.begin() as conn:
                self._checkpoint(conn, rule, cp, last, done, job)
        cp["longest_ms"] = max(int(cp["longest_ms"]), int(longest))
        return done, longest

    def _checkpoint(self, conn: Any, rule: Rule, cp: dict[str, Any], last: Any, n: int, job: Any) -> None:
        cp["after"] = last if isinstance(last, (int, str)) else str(last)
        cp["processed"] = int(cp["processed"]) + n
        cp["batches"] = int(cp["batches"]) + 1
        self.audit.append(conn, actor="retention", action=f"retention.{rule.action}",
                             meta={"rule": rule.name, "rows": n, "batch": cp["batches"]})
        job.save(conn, cp, processed=n)

    def receipts(self, *, rule: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest receipts (newest first)."""
        q = select(retention_receipts).order_by(retention_receipts.c.id.desc()).limit(limit)
        if rule is not None:
            q = q.where(retention_receipts.c.rule == rule)
        with self.store.begin(write=False) as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def run_due(self, now: datetime) -> Mapping[str, int]:
        """``run-due``: sweep every rule; rows processed per rule. A rule that cannot run here is logged and
        counted under ``"errors"``, so the other rules and the outbox still run; a rule another worker is
        sweeping at the moment is counted under ``"busy"``."""
        counts: dict[str, int] = {}
        errors = busy = 0
        for rule in self.rules:
            try:
                (receipt,) = self.sweep([rule.name], now=now)
            except JobBusy:
                busy += 1  # another worker's run-due is sweeping this rule now: nothing to do here
                continue
            except ShopPrivacyError as exc:
                errors += 1
                log.warning("retention rule %s did not run: %s: %s", rule.name, type(exc).__name__, exc)
                continue
            counts[rule.name] = receipt.processed
        if errors:
            counts["errors"] = errors
        if busy:
            counts["busy"] = busy
        return counts

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()

