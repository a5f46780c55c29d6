"""``shopprivacy breach open|update|list|show|stores|assess|report|no-report|notify|export|close``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..progress import Progress


def _sp(args: argparse.Namespace) -> Any:
    from ..cli import facade

    return facade(args)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with its offset (``2026-11-24T09:30:00+01:00``, ``...Z``), as UTC; for ``type=``."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text[:40]!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time with its offset (e.g. {value[:19]}Z): {text[:40]!r}")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise argparse.ArgumentTypeError(f"time out of range: {text[:40]!r}") from None


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {getattr(exc, 'strerror', None) or 'not UTF-8 text'}") from None


def _hours(delta_seconds: float) -> str:
    hours = abs(delta_seconds) / 3600
    return f"{hours:.0f} h {'left' if delta_seconds >= 0 else 'OVERDUE'}"


def _line(b: Any, now: datetime) -> str:
    if b.authority == "pending":
        clock = f"report due {b.authority_due_at:%Y-%m-%d %H:%M}Z ({_hours(b.time_left(now).total_seconds())})"
    elif b.authority == "reported":
        clock = f"reported {b.reported_at:%Y-%m-%d %H:%M}Z" + (" (late, reasons recorded)" if b.delay_reason else "")
    else:
        clock = "no report due (reason recorded)"
    return f"{b.id}  {b.state:<6} aware {b.aware_at:%Y-%m-%d %H:%M}Z  {clock}"


def cmd_open(args: argparse.Namespace) -> int:
    sp = _sp(args)
    b = sp.breaches.open(_read(args.file))
    print(_line(b, sp.clock()))
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    sp = _sp(args)
    print(_line(sp.breaches.update(args.breach_id, _read(args.file)), sp.clock()))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    sp = _sp(args)
    now = sp.clock()
    items = sp.breaches.find(state=None if args.all else "open", overdue=args.overdue, limit=args.limit)
    if args.json:
        print(json.dumps([{"id": b.id, "state": b.state, "aware_at": b.aware_at.isoformat(),
                           "authority_due_at": b.authority_due_at.isoformat(), "authority": b.authority,
                           "overdue": b.overdue(now)} for b in items]))
    else:
        for b in items:
            print(_line(b, now))
    if args.overdue and items:
        print(f"{len(items)} breach(es) past the 72 hours without a report to the authority (GDPR Art. 33(1))",
              file=sys.stderr)
        return 1
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    sp = _sp(args)
    b = sp.breaches.get(args.breach_id)
    notices = sp.breaches.notices(b.id)
    if args.json:
        print(sp.breaches.export(b.id, fmt="json"), end="")
        return 0
    print(_line(b, sp.clock()))
    print(f"  {b.incident.controller}: {', '.join(b.incident.kinds)}; data: {', '.join(b.incident.data_categories)}")
    counts = (b.assessment or {}).get("counts")
    print("  subjects: " + (", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "not assessed yet"))
    if notices:
        print("  notices: " + ", ".join(f"{k} {v}" for k, v in sorted(notices.items())))
    if b.exemption:
        print(f"  exemption: {b.exemption}")
    for e in sp.breaches.events(b.id):
        print(f"  {e['at']}  {e['action']}  {e['actor']}")
    return 0


def cmd_stores(args: argparse.Namespace) -> int:
    for name, info in _sp(args).breaches.stores().items():
        listed = "" if info.enumerable else "  (subjects not listable: count them by hand)"
        print(f"{name}{listed}")
        for f in info.fields:
            print(f"  {f.name}\t{f.protection}")
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    sp = _sp(args)
    result = sp.breaches.assess(args.breach_id, progress=Progress("breach assess", stream=sys.stderr))
    print(", ".join(f"{k} {v}" for k, v in result["counts"].items()))
    exemption = sp.breaches.get(args.breach_id).exemption
    if exemption:
        print(f"exemption: {exemption}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    sp = _sp(args)
    b = sp.breaches.report(args.breach_id, at=args.at, reference=args.reference, delay_reason=args.delay_reason)
    print(_line(b, sp.clock()))
    return 0


def cmd_no_report(args: argparse.Namespace) -> int:
    sp = _sp(args)
    print(_line(sp.breaches.no_report(args.breach_id, args.reason), sp.clock()))
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    n = _sp(args).breaches.notify(args.breach_id, locale=args.locale)
    print(f"{n} notice(s) queued; `shopprivacy run-due` sends them through the shop's sender")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    text = _sp(args).breaches.export(args.breach_id, fmt=args.format)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    sp = _sp(args)
    print(_line(sp.breaches.close(args.breach_id), sp.clock()))
    return 0


def add_commands(sub: Any) -> None:
    br = sub.add_parser("breach", help="breach register: open, assess, report, notify, export").add_subparsers(
        dest="breach_cmd", required=True)
    p = br.add_parser("open", help="record a breach from a JSON file ('-': stdin); the 72 hours start at "
                                   "discovered_at")
    p.add_argument("file")
    p.set_defaults(func=cmd_open)
    p = br.add_parser("update", help="record a later phase: the JSON fields given replace the recorded ones")
    p.add_argument("breach_id")
    p.add_argument("file")
    p.set_defaults(func=cmd_update)
    p = br.add_parser("list", help="open breaches, soonest deadline first")
    p.add_argument("--all", action="store_true", help="closed ones too")
    p.add_argument("--overdue", action="store_true", help="only those past the 72 hours; exit 1 when any")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_list)
    p = br.add_parser("show", help="one breach: clock, subjects, notices, steps")
    p.add_argument("breach_id")
    p.add_argument("--json", action="store_true", help="the authority report as JSON")
    p.set_defaults(func=cmd_show)
    br.add_parser("stores", help="the stores and fields a scope may name, and how each is held at rest"
                  ).set_defaults(func=cmd_stores)
    p = br.add_parser("assess", help="compute the affected subjects from the scope")
    p.add_argument("breach_id")
    p.set_defaults(func=cmd_assess)
    p = br.add_parser("report", help="record the report to the authority")
    p.add_argument("breach_id")
    p.add_argument("--at", type=parse_time, help="when it was reported (ISO 8601 with offset; default now)")
    p.add_argument("--reference", help="the authority's case reference")
    p.add_argument("--delay-reason", help="reasons for the delay (required after 72 hours, Art. 33(1))")
    p.set_defaults(func=cmd_report)
    p = br.add_parser("no-report", help="record that no report is due (unlikely to result in a risk), and why")
    p.add_argument("breach_id")
    p.add_argument("reason")
    p.set_defaults(func=cmd_no_report)
    p = br.add_parser("notify", help="queue the Art. 34 notice to every affected subject still to be told")
    p.add_argument("breach_id")
    p.add_argument("--locale", help="language of the notices (default: the shop's)")
    p.set_defaults(func=cmd_notify)
    p = br.add_parser("export", help="the report to the authority (Art. 33(3)) as JSON or HTML")
    p.add_argument("breach_id")
    p.add_argument("--format", choices=("json", "html"), default="json")
    p.add_argument("--out", help="file to write (default: stdout)")
    p.set_defaults(func=cmd_export)
    p = br.add_parser("close", help="close a breach once the authority decision is recorded")
    p.add_argument("breach_id")
    p.set_defaults(func=cmd_close)
