"""``shopprivacy rights list|show|process|extend|reject|message|answer|lift-restriction`` and ``shopprivacy erasures
status|replay``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _sp(args: argparse.Namespace) -> Any:
    from ..cli import facade

    return facade(args)


def cmd_list(args: argparse.Namespace) -> int:
    items = _sp(args).rights.find(state=args.state, overdue=args.overdue, limit=args.limit)
    if args.json:
        print(json.dumps([{"id": r.id, "kind": r.kind, "state": r.state, "regime": r.regime,
                           "received_at": r.received_at.isoformat(), "due_at": r.due_at.isoformat()} for r in items]))
        return 0
    for r in items:
        print(f"{r.id}  {r.kind:<7} {r.state:<11} {r.regime}  received {r.received_at:%Y-%m-%d}  "
              f"due {r.due_at:%Y-%m-%d}{'  verified' if r.verified else ''}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """The receipt of one request: what a regulator may ask for (no personal data in it)."""
    receipt = _sp(args).rights.receipt(args.request_id).to_json()
    if args.json:
        print(json.dumps(receipt, indent=2))
        return 0
    print(f"{receipt['id']}: {receipt['kind']} ({receipt['regime']}), {receipt['state']}, "
          f"received {receipt['received_at']}, due {receipt['due_at']}")
    for source in receipt["sources"]:
        for f in source["fields"]:
            reason = f"  ({f['reason']})" if f["reason"] else ""
            print(f"  {source['source']}: {f['field']} {f['outcome']} {f['rows']}{reason}")
    for name, error in receipt["failures"].items():
        print(f"  FAILED {name}: {error}")
    for step in receipt["timeline"]:
        print(f"  {step['at']}  {step['action']}")
    return 0


def cmd_process(args: argparse.Namespace) -> int:
    r = _sp(args).rights.process(args.request_id)
    print(f"{r.id}: {r.state}")
    return 0 if r.state == "done" else 1


def cmd_extend(args: argparse.Namespace) -> int:
    r = _sp(args).rights.extend(args.request_id, args.reason)
    print(f"{r.id}: extended, now due {r.due_at:%Y-%m-%d}")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    r = _sp(args).rights.reject(args.request_id, args.reason)
    print(f"{r.id}: rejected")
    return 0


def cmd_erasures_status(args: argparse.Namespace) -> int:
    """Whether the database is behind its erasure journal (exit 1 when it is: run ``erasures replay``)."""
    mark, last = _sp(args).rights.erasures.status()
    if mark < last:
        print(f"behind: the database applied erasure journal entries up to {mark}, the journal holds {last}; "
              "a restored backup? run `shopprivacy erasures replay`")
        return 1
    print(f"up to date: erasure journal entries applied up to {mark} of {last}")
    return 0


def cmd_erasures_replay(args: argparse.Namespace) -> int:
    """Apply the journal's erasures and shreds the database lacks (after restoring a backup)."""
    counts = _sp(args).rights.erasures.replay()
    done = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "nothing to replay"
    print(f"replayed: {done}")
    if counts.get("platform"):
        print("platform erasures were queued again: `shopprivacy run-due` delivers them")
    return 0


def cmd_message(args: argparse.Namespace) -> int:
    """Print the message of a question or complaint."""
    print(_sp(args).rights.message(args.request_id))
    return 0


def cmd_answer(args: argparse.Namespace) -> int:
    """Answer a question or complaint: the requester gets the text, the request is done."""
    text = sys.stdin.read() if args.text == "-" else args.text
    r = _sp(args).rights.answer(args.request_id, text)
    print(f"{r.id}: answered")
    return 0


def cmd_lift(args: argparse.Namespace) -> int:
    """Lift a restriction (or objection, opt-out) from the person; the requester is told (Art. 18(3))."""
    identity = {k: v for k, v in (("email", args.email), ("phone", args.phone), ("customer_id", args.customer_id))
                if v}
    n = _sp(args).rights.lift_restriction(identity, reason=args.reason, effect=args.effect)
    print(f"{args.effect} lifted ({n} request(s))" if n else f"no {args.effect} was in place")
    return 0


def add_commands(sub: Any) -> None:
    rt = sub.add_parser("rights", help="rights requests: list, receipts, process, extend, reject").add_subparsers(
        dest="rights_cmd", required=True)
    p = rt.add_parser("list", help="requests, soonest due first")
    p.add_argument("--state", help="only this state (received, verified, in_progress, extended, done, ...)")
    p.add_argument("--overdue", action="store_true", help="only open requests past their due date")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_list)
    p = rt.add_parser("show", help="the receipt of one request")
    p.add_argument("request_id")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_show)
    p = rt.add_parser("process", help="run a verified request now")
    p.add_argument("request_id")
    p.set_defaults(func=cmd_process)
    for name, func, text in (("extend", cmd_extend, "extend the deadline once, with the reason told to the person"),
                             ("reject", cmd_reject, "refuse a request, with the reason")):
        p = rt.add_parser(name, help=text)
        p.add_argument("request_id")
        p.add_argument("reason")
        p.set_defaults(func=func)
    p = rt.add_parser("message", help="print the message of a question or complaint (the read is audited)")
    p.add_argument("request_id")
    p.set_defaults(func=cmd_message)
    p = rt.add_parser("answer", help="answer a question or complaint (the requester is told; the request is done)")
    p.add_argument("request_id")
    p.add_argument("text", help="the answer; '-' reads it from standard input")
    p.set_defaults(func=cmd_answer)
    p = rt.add_parser("lift-restriction", help="lift a person's restriction of processing (the requester is told)")
    p.add_argument("--email")
    p.add_argument("--phone")
    p.add_argument("--customer-id", dest="customer_id")
    p.add_argument("--effect", choices=("restrict", "object", "opt_out_sale"), default="restrict")
    p.add_argument("reason", help="why (kept with the lifted state and in the audit log)")
    p.set_defaults(func=cmd_lift)

    er = sub.add_parser("erasures", help="the erasure journal: status, replay after restoring a backup") \
        .add_subparsers(dest="erasures_cmd", required=True)
    p = er.add_parser("status", help="whether the database is behind its erasure journal (exit 1 if so)")
    p.set_defaults(func=cmd_erasures_status)
    p = er.add_parser("replay", help="apply again every erasure and shred made since the restored backup")
    p.set_defaults(func=cmd_erasures_replay)
