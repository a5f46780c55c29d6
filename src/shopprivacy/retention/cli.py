"""``shopprivacy retention plan|sweep|receipts``."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _retention(args: argparse.Namespace) -> Any:
    from ..cli import facade

    sp = facade(args)
    if args.rules:
        sp.retention.load(args.rules)
    return sp


def cmd_plan(args: argparse.Namespace) -> int:
    sp = _retention(args)
    lines = sp.retention.plan(args.rule or None)
    if args.json:
        print(json.dumps([vars(line) for line in lines]))
        return 0
    width = max((len(line.rule) for line in lines), default=4)
    print(f"{'rule':<{width}}  {'action':<9} {'due':>9} {'exempt':>7}  entity")
    for line in lines:
        print(f"{line.rule:<{width}}  {line.action:<9} {line.due:>9} {line.exempt:>7}  {line.entity}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    sp = _retention(args)
    receipts = sp.retention.sweep(args.rule or None)
    for r in receipts:
        if args.json:
            print(json.dumps({**vars(r), "cutoff": r.cutoff.isoformat()}))
        elif r.processed or r.exempt:
            print(f"{r.rule}: {r.action} {r.processed} row(s), {r.exempt} exempt, {r.batches} batch(es), "
                  f"longest transaction {r.longest_tx_ms} ms")
    return 0


def cmd_receipts(args: argparse.Namespace) -> int:
    sp = _retention(args)
    for r in sp.retention.receipts(rule=args.rule[0] if args.rule else None, limit=args.limit):
        print(f"{r['finished_at']:%Y-%m-%d %H:%M}  {r['rule']}  {r['action']} {r['processed']}  "
              f"exempt {r['exempt']}  cutoff {r['cutoff']:%Y-%m-%d}")
    return 0


def add_commands(sub: Any) -> None:
    rt = sub.add_parser("retention", help="retention rules: plan (dry run) and sweep").add_subparsers(
        dest="retention_cmd", required=True)
    for name, func, text in (("plan", cmd_plan, "rows each rule would change now (writes nothing)"),
                             ("sweep", cmd_sweep, "enforce the rules in small audited batches"),
                             ("receipts", cmd_receipts, "receipts of past sweeps")):
        p = rt.add_parser(name, help=text)
        p.add_argument("--rules", help="TOML file of extra rules (besides SHOPPRIVACY_RETENTION__RULES_FILE)")
        p.add_argument("--rule", action="append", help="only this rule (repeatable)")
        p.add_argument("--json", action="store_true", help="JSON output")
        if name == "receipts":
            p.add_argument("--limit", type=int, default=50)
        p.set_defaults(func=func)
