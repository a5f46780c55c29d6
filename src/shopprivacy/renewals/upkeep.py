"""Renewal upkeep on a platform that bills by itself (WooCommerce Subscriptions): no billing, only upkeep.

Such a platform creates and charges each renewal order on its own schedule, so the renewal job's role there
is: scan the subscriptions due before ``until`` asking only for their id, customer and due date
(minimisation); clean each one's IP address, user agent and attribution before the platform copies them into
the renewal order (hygiene); and keep a legal hold on each customer with a due, live subscription (holds).
A dry run prints the planned steps; a real run prints the steps it applied, in the same words, so the dry run
predicts the run exactly when the shop behaves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from ..platforms import SelfBillingSource, UpkeepAction
from ..progress import Progress
from .runner import RunReport

if TYPE_CHECKING:
    from ..keys import Keyring
    from ..retention import Retention
    from ..store import AuditLog

log = logging.getLogger("shopprivacy.renewals")

#: What upkeep asks the platform for: no amounts, lines, addresses or e-mail.
UPKEEP_FIELDS = frozenset({"subscription_id", "customer_ref", "next_billing_at"})


@dataclass
class UpkeepReport(RunReport):
    """A :class:`RunReport` of an upkeep run; ``upkeep`` counts steps applied (dry run: planned)."""

    upkeep: int = 0
    billed_by_platform: int = 0

    def counts(self) -> dict[str, int]:
        return {**super().counts(), "upkeep": self.upkeep, "billed_by_platform": self.billed_by_platform}


def describe(keyring: Keyring, action: UpkeepAction) -> str:
    """One line naming a step (customers by pseudonym, fields by name; never values)."""
    if action.kind == "hold_customer":
        return f"hold customer {keyring.pseudonym(action.target, namespace='customer')}"
    return f"clean subscription {action.target}: {', '.join(action.fields)}"


def run_upkeep(adapter: SelfBillingSource, *, retention: Retention, audit: AuditLog, keyring: Keyring,
               until: datetime, dry_run: bool, stream: IO[str] | None = None,
               out: Callable[[str], None] | None = None) -> UpkeepReport:
    """Plan (and unless ``dry_run`` apply) the upkeep of every subscription due before ``until``."""
    from ..platforms import SubscriptionSource

    report = UpkeepReport()
    holds: set[tuple[str, str]] = set()  # placed (dry run: planned) in this run
    source: Any = adapter
    assert isinstance(source, SubscriptionSource)
    with Progress("renewal upkeep", stream=stream) as progress:
        for sub in source.iter_due_subscriptions(due_before=until, fields=UPKEEP_FIELDS):
            report.seen += 1
            report.billed_by_platform += 1
            progress.advance()
            for step in adapter.plan_renewal_upkeep(sub):
                if step.kind == "hold_customer":
                    if (step.entity, step.target) in holds or retention.is_held(step.entity, step.target):
                        continue
                    holds.add((step.entity, step.target))
                done = step if dry_run else _apply(adapter, step, report, retention, keyring)
                if done is None:
                    continue
                report.upkeep += 1
                if out is not None:
                    out(("would " if dry_run else "did ") + describe(keyring, done))
    if not dry_run:
        audit.record(actor="renewals", action="renewal.upkeep", fields=sorted(UPKEEP_FIELDS),
                   meta=report.counts())
    return report


def _apply(adapter: SelfBillingSource, step: UpkeepAction, report: UpkeepReport, retention: Retention,
           keyring: Keyring) -> UpkeepAction | None:
    from ..errors import PlatformError

    if step.kind == "hold_customer":
        retention.hold(step.entity, step.target, reason="renewals: live subscription due")
        return step
    try:
        return adapter.apply_renewal_upkeep(step)
    except PlatformError as exc:
        report.errors += 1
        log.warning("renewal upkeep of subscription %s failed (%s)",
                    keyring.pseudonym(step.target, namespace="subscription"), type(exc).__name__)
        return None


__all__ = ["UPKEEP_FIELDS", "UpkeepReport", "describe", "run_upkeep"]
