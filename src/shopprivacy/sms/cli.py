"""``shopprivacy sms status|opt-out|erase``: what support staff need when a customer calls or writes."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .settings import ALL


def _sp(args: argparse.Namespace) -> Any:
    from ..cli import facade

    return facade(args)


def cmd_status(args: argparse.Namespace) -> int:
    """A number's state per program, whether it is suppressed everywhere, and its proof (``--json``)."""
    sms = _sp(args).sms
    e164 = sms.normalise(args.phone)
    programs = {p: sms.state(e164, p) for p in sms.settings.lists}
    if args.json:
        print(json.dumps({"programs": programs, "suppressed_everywhere": sms.is_suppressed(e164),
                          "history": sms.history(e164)}, indent=2))
        return 0
    for program, state in programs.items():
        print(f"{program}\t{state}")
    for event in sms.history(e164):
        print(f"{event['at']}\t{event['list']}\t{event['action']}\t{event['source'] or ''}")
    return 0


def cmd_opt_out(args: argparse.Namespace) -> int:
    """Opt a number out (a request by phone, mail or in person); idempotent."""
    change = _sp(args).sms.opt_out(args.phone, args.program, source=f"cli:{args.source}")
    print("opted out" if change.changed else "already opted out")
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    """Suppress a number everywhere, then crypto-shred the stored copy (proof and suppression stay)."""
    sms = _sp(args).sms
    sms.suppress(args.phone, ALL, reason="erased")
    print("erased" if sms.erase(args.phone, actor="cli") else "no number held (suppression kept)")
    return 0


def add_commands(sub: Any) -> None:
    """Add ``sms`` and its subcommands to the ``shopprivacy`` parser."""
    sms = sub.add_parser("sms", help="SMS marketing consent: a number's state, opt-out, erasure").add_subparsers(
        dest="sms_command", required=True)
    p = sms.add_parser("status", help="a number's state per program and its proof")
    p.add_argument("phone", help="the number, E.164 (+33...) or national in SHOPPRIVACY_SMS__DEFAULT_REGION")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_status)
    p = sms.add_parser("opt-out", help="opt a number out of a program or (default) of every program")
    p.add_argument("phone")
    p.add_argument("--program", default=ALL, help="one program id (default: every program)")
    p.add_argument("--source", default="support", help="where the request came from (kept with the proof)")
    p.set_defaults(func=cmd_opt_out)
    p = sms.add_parser("erase", help="erase a number: suppressed everywhere, stored copy crypto-shredded")
    p.add_argument("phone")
    p.set_defaults(func=cmd_erase)
