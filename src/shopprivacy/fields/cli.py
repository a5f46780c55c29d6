"""``shopprivacy fields ...`` commands."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import InvalidInput
from ..progress import Progress
from ..workers import Shard


def cmd_reencrypt(args: argparse.Namespace) -> int:
    from ..cli import facade
    from ..store.engine import Store
    from .reencrypt import reencrypt_column

    if args.workers > 1:
        return _reencrypt_in_workers(args)
    sp = facade(args)
    target = Store.from_url(args.database_url) if args.database_url else None
    report = reencrypt_column(
        sp.fields, sp.jobs, sp.store, table=args.table, column=args.column, id_column=args.row_id_column,
        batch=args.batch, from_plaintext=args.from_plaintext, target=target, restart=args.restart,
        progress=None if args.json else lambda total: Progress(f"{args.table}.{args.column}", total),
        shard=Shard.parse(args.shard) if args.shard else None)
    if args.json:
        print(json.dumps({"scanned": report.scanned, "encrypted": report.encrypted,
                          "reencrypted": report.reencrypted, "unchanged": report.unchanged,
                          "resumed": report.resumed}))
        return 0
    _print(args, report.scanned, report.encrypted, report.reencrypted, report.unchanged, report.resumed)
    return 0


def _print(args: argparse.Namespace, scanned: int, encrypted: int, reencrypted: int, unchanged: int,
           resumed: bool) -> None:
    print(f"{args.table}.{args.column}: {scanned} rows, {encrypted} encrypted, {reencrypted} re-encrypted, "
          f"{unchanged} unchanged" + (" (resumed from checkpoint)" if resumed else ""))


def _reencrypt_in_workers(args: argparse.Namespace) -> int:
    """``--workers N``: N processes, one share of the rows each (``--shard i/N``), counts added up."""
    from ..workers import add_up, run_workers

    if args.shard:
        raise InvalidInput("--workers gives each worker its own --shard: leave --shard out")
    argv = ["fields", "reencrypt", "--json", "--table", args.table, "--column", args.column, "--row-id-column",
            args.row_id_column, "--batch", str(args.batch)]
    argv += ["--from-plaintext"] if args.from_plaintext else []
    argv += ["--database-url", args.database_url] if args.database_url else []
    argv += ["--restart"] if args.restart else []
    results = run_workers(lambda i: [*argv, "--shard", f"{i}/{args.workers}"], args.workers, env=args.environ)
    total = add_up(results)
    if args.json:
        print(json.dumps(total))
    else:
        _print(args, total["scanned"], total["encrypted"], total["reencrypted"], total["unchanged"],
               any(r.get("resumed") for r in results))
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
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--workers", type=int, default=1, help="re-encrypt with N processes, one share of the rows each")
    p.add_argument("--shard", help="INDEX/COUNT: this worker's share of the rows when COUNT workers run together")
    p.set_defaults(func=cmd_reencrypt)
    fields.add_parser("rewrap", help="wrap subject keys with the primary key after a rotation").set_defaults(
        func=cmd_rewrap)
