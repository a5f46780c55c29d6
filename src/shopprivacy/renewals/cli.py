"""``shopprivacy renewals run [--dry-run]``: bill due subscriptions through the configured platform."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidInput
from ..store.audit import AuditLog
from .runs import ACTION as RUN_ACTION


def _until(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("--until takes an ISO 8601 date-time such as 2026-12-01T00:00:00+00:00") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def cmd_renewals_run(args: argparse.Namespace) -> int:
    from ..cli import facade

    sp = facade(args)
    try:
        before = previous_skipped(sp.audit)
        report = sp.renewals.run(until=_until(args.until), dry_run=args.dry_run, keep_email=not args.no_email,
                                 out=print)  # a real run prints only upkeep steps done (self-billing platforms)
    finally:
        if getattr(args, "facade", None) is None:  # an integration's facade stays open
            sp.close()
    counts = report.counts()
    if args.json:
        print(json.dumps({**counts, "skipped_reasons": dict(report.skipped), "dropped": dict(report.dropped)}))
        return 0
    if args.dry_run or news(counts, before):
        print(", ".join(f"{k} {v}" for k, v in counts.items() if v or k in ("seen",)))
        if report.dropped:
            print("dropped field names: " + ", ".join(f"{k} x{v}" for k, v in report.dropped.most_common(20)))
        if report.skipped:
            print("skipped: " + ", ".join(f"{k} x{v}" for k, v in report.skipped.most_common()))
    return 0


#: Counts that make a real run speak in cron: something was billed, changed or needs attention now.
NEWS = ("billed", "pending", "failed", "errors", "in_doubt", "cleaned_orders", "upkeep")


def previous_skipped(audit: AuditLog) -> int | None:
    """How many subscriptions the last recorded run skipped (None before the first run)."""
    last = audit.entries(action=RUN_ACTION, limit=1)
    value = last[0].meta.get("skipped") if last else None
    return value if isinstance(value, int) else None


def news(counts: dict[str, int], skipped_before: int | None) -> bool:
    """Whether a real run prints its summary: when one of :data:`NEWS` happened, or the number of skipped
    subscriptions changed since the last run (a permanent skip is reported once, not every 15 minutes)."""
    return any(counts.get(name) for name in NEWS) or counts["skipped"] != (skipped_before or 0)


def add_commands(sub: Any) -> None:
    rn = sub.add_parser("renewals", help="purpose-bound subscription renewals").add_subparsers(
        dest="renewals_cmd", required=True)
    p = rn.add_parser("run", help="bill every due subscription once per period (platform from settings)")
    p.add_argument("--dry-run", action="store_true", help="print what would be billed and minimised; bill nothing")
    p.add_argument("--until", help="bill what is due before this ISO time (default now)")
    p.add_argument("--no-email", action="store_true", help="do not fetch the receipt e-mail")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=cmd_renewals_run)
