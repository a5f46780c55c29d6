"""``shopprivacy renewals run [--dry-run]``: bill due subscriptions through the configured platform."""

from __future__ import annotations

import argparse
import json
from collections import Counter
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


def _worker_argv(args: argparse.Namespace, index: int) -> list[str]:
    argv = ["renewals", "run", "--json", "--shard", f"{index}/{args.workers}"]
    if args.until:
        argv += ["--until", args.until]
    return argv + (["--no-email"] if args.no_email else [])


def _in_workers(args: argparse.Namespace) -> tuple[dict[str, int], Counter[str], Counter[str]]:
    """Run ``--workers N`` shards as processes; their counts added up (``seen`` and ``skipped``: the most one
    worker saw, since each walks every share and what another one billed meanwhile is no longer due)."""
    from ..workers import add_up, run_workers

    if args.dry_run or args.shard:
        raise InvalidInput("--workers runs real shards of its own: leave out --dry-run and --shard")
    _until(args.until)  # a bad --until fails here once, not in every worker
    results = run_workers(lambda i: _worker_argv(args, i), args.workers, env=args.environ)
    total = add_up(results)
    skipped, dropped = Counter(total.pop("skipped_reasons", {})), Counter(total.pop("dropped", {}))
    counts = {k: int(v) for k, v in total.items()}
    counts["seen"] = max((int(r.get("seen", 0)) for r in results), default=0)
    counts["skipped"] = max((int(r.get("skipped", 0)) for r in results), default=0)
    return counts, skipped, dropped


def cmd_renewals_run(args: argparse.Namespace) -> int:
    from ..cli import facade
    from .split import Shard

    shard = Shard.parse(args.shard) if args.shard else None
    if args.workers and args.workers > 1:
        counts, skipped, dropped = _in_workers(args)
        sp = facade(args)
        before = previous_skipped(sp.audit)
        if getattr(args, "facade", None) is None:
            sp.close()
    else:
        sp = facade(args)
        try:
            before = previous_skipped(sp.audit)
            report = sp.renewals.run(until=_until(args.until), dry_run=args.dry_run, keep_email=not args.no_email,
                                     out=print, shard=shard)  # a real run prints only upkeep steps done
        finally:
            if getattr(args, "facade", None) is None:  # an integration's facade stays open
                sp.close()
        counts, skipped, dropped = report.counts(), report.skipped, report.dropped
    if args.json:
        print(json.dumps({**counts, "skipped_reasons": dict(skipped), "dropped": dict(dropped)}))
        return 0
    if args.dry_run or news(counts, before):
        print(", ".join(f"{k} {v}" for k, v in counts.items() if v or k in ("seen",)))
        if dropped:
            print("dropped field names: " + ", ".join(f"{k} x{v}" for k, v in dropped.most_common(20)))
        if skipped:
            print("skipped: " + ", ".join(f"{k} x{v}" for k, v in skipped.most_common()))
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
    p.add_argument("--workers", type=int, default=1,
                   help="run as N processes, each billing its share first (see docs/scaling.md)")
    p.add_argument("--shard", help="INDEX/COUNT: this worker's share when COUNT workers run together, e.g. 0/4")
    p.set_defaults(func=cmd_renewals_run)
