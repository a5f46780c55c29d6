"""``shopprivacy fields ...`` commands."""

from __future__ import annotations

import argparse
from typing import Any

from ..progress import Progress


def cmd_reencrypt(args: argparse.Namespace) -> int:
    from ..cli import facade
    from ..store.engine import Store
    from .reencrypt import reencrypt_column

    sp = facade(args)
    target = Store.from_url(args.database_url) if args.database_url else None
    report = reencrypt_column(
        sp.fields, sp.jobs, sp.store, table=args.table, column=args.column, id_column=args.row_id_column,
        batch=args.batch, from_plaintext=args.from_plaintext, target=target, restart=args.restart,
        progress=lambda total: Progress(f"{args.table}.{args.column}", total))
    print(f"{args.table}.{args.column}: {report.scanned} rows, {report.encrypted} encrypted, "
          f"{report.reencrypted} re-encrypted, {report.unchanged} unchanged"
          + (" (resumed from checkpoint)" if report.resumed else ""))
    return 0


def cmd_rewrap(args: argparse.Namespace) -> int:
    from ..cli import facade

    n = facade(args).fields.subject_keys.rewrap()
    print(f"{n} subject key(s) rewrapped under the primary key")
    return 0


def add_commands(sub: Any) -> None:
    fields = sub.add_parser("fields", help="encrypted fields").add_subparsers(dest="fields_cmd", required=True)
    p = fields.add_parser("reencrypt", help="re-encrypt a column under the primary key (resumable)")
    p.add_argument("--table", required=True)
    p.add_argument("--column", required=True)
    p.add_argument("--row-id-column", default="id", help="the row id the values are bound to (default id)")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--from-plaintext", action="store_true", help="encrypt plaintext values (tokens are skipped)")
    p.add_argument("--database-url", help="the shop's database when the table is not in the SDK's database")
    p.add_argument("--restart", action="store_true", help="ignore a checkpoint left by an interrupted run")
    p.set_defaults(func=cmd_reencrypt)
    fields.add_parser("rewrap", help="wrap subject keys with the primary key after a rotation").set_defaults(
        func=cmd_rewrap)
