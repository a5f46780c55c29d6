"""``shopprivacy declaration ...`` commands: check, notice, record, cookies."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_check(args: argparse.Namespace) -> int:
    from ..cli import facade

    sp = facade(args)
    drift = sp.declaration.drift(sources=sp.rights.sources())
    for item in drift:
        print(f"drift ({item.kind}): {item.message}")
    if not drift:
        print(f"declaration {sp.declaration.require().version} ({sp.declaration.digest[:12]}): no drift")
    return 1 if drift else 0


def cmd_publish(args: argparse.Namespace) -> int:
    from ..cli import facade

    done = facade(args).declaration.publish(actor="cli")
    if not done.new:
        print(f"declaration {done.version} ({done.digest[:12]}) was already published; {done.queued} change "
              "notice(s) queued")
    else:
        changes = ", ".join(done.changes) or "nothing material"
        print(f"published declaration {done.version} ({done.digest[:12]}): {changes}; {done.queued} change "
              "notice(s) queued (sent by run-due)")
    return 0


def cmd_document(args: argparse.Namespace) -> int:
    from ..cli import facade

    decl = facade(args).declaration
    doc = {"notice": decl.notice, "record": decl.record, "cookies": decl.cookie_table}[args.declaration_cmd](
        args.locale)
    text = {"html": doc.html, "md": doc.markdown, "csv": doc.csv}[args.format]
    if not text:
        print(f"error: the {args.declaration_cmd} has no {args.format} form; use --format html or md",
              file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def add_commands(sub: Any) -> None:
    decl = sub.add_parser("declaration", help="the data declaration: drift, notice, record, cookie table") \
        .add_subparsers(dest="declaration_cmd", required=True)
    decl.add_parser("check", help="drift between the declaration, retention rules, rights sources and cookies "
                                  "seen; exit 1 when any").set_defaults(func=cmd_check)
    decl.add_parser("publish", help="record the current version; a material change queues a notice to every "
                                    "customer (resumable)").set_defaults(func=cmd_publish)
    for name, text, formats in (("notice", "the privacy notice", ("md", "html")),
                                ("record", "the record of processing (GDPR Art. 30)", ("csv", "html", "md")),
                                ("cookies", "the cookie table", ("html", "md"))):
        p = decl.add_parser(name, help=f"print {text}")
        p.add_argument("--locale", default=None, help="language (default: English)")
        p.add_argument("--format", choices=formats, default=formats[0])
        p.set_defaults(func=cmd_document)
