"""The ``shopprivacy`` command. Exit status: 0 fine, 1 a check found a problem, 2 bad usage or settings, 3 the
database is unavailable (run the command again when it is back)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .app import ShopPrivacy
from .breaches.cli import add_commands as add_breach_commands
from .declaration.cli import add_commands as add_declaration_commands
from .doctor import run_checks
from .email.cli import add_commands as add_email_commands
from .errors import AuditChainError, ConfigurationError, DatabaseUnavailable, KeysetError, ShopPrivacyError
from .fields.cli import add_commands as add_fields_commands
from .keys import Keyset
from .renewals.cli import add_commands as add_renewals_commands
from .retention.cli import add_commands as add_retention_commands
from .rights.cli import add_commands as add_rights_commands
from .settings import Settings, Spelling, env_spelling
from .sms.cli import add_commands as add_sms_commands
from .store import AnchorFile

Command = Callable[[argparse.Namespace], int]


def facade(args: argparse.Namespace) -> ShopPrivacy:
    """The facade a command works on: an integration's own (``main(facade=...)``), with the shop's rights
    sources and senders registered, else one built from the environment (``main(environ=...)``)."""
    factory: Callable[[], ShopPrivacy] | None = getattr(args, "facade", None)
    return factory() if factory is not None else ShopPrivacy.from_env(args.environ)


def _keyset_path(args: argparse.Namespace) -> Path:
    path = args.file or (os.environ if args.environ is None else args.environ).get("SHOPPRIVACY_KEYSET_FILE")
    if not path:
        raise KeysetError("name the keyset file with --file or SHOPPRIVACY_KEYSET_FILE",
                          setting="SHOPPRIVACY_KEYSET_FILE")
    return Path(path)


def cmd_keys_generate(args: argparse.Namespace) -> int:
    keyset = Keyset.generate()
    if args.out is None:
        sys.stdout.write(keyset.to_json())
        return 0
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; pass --force to replace it (old data would become unreadable)",
              file=sys.stderr)
        return 2
    keyset.write(out)
    print(f"wrote keyset {out} (primary key {keyset.primary!r}); set SHOPPRIVACY_KEYSET_FILE={out}")
    return 0


def _edit_keyset(args: argparse.Namespace, change: Callable[[Keyset], Keyset], done: str) -> int:
    path = _keyset_path(args)
    keyset = change(Keyset.from_file(path))
    keyset.write(path)
    print(done.format(primary=keyset.primary, ids=", ".join(keyset.ids)))
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    verb = "added (not primary yet)" if args.stage else "is now primary"
    return _edit_keyset(args, lambda ks: ks.rotate(promote=not args.stage),
                        "keys: {ids}; the newest key " + verb + ". Old keys still decrypt and verify.")


def cmd_keys_promote(args: argparse.Namespace) -> int:
    return _edit_keyset(args, lambda ks: ks.promote(args.key_id), "primary key is now {primary!r}")


def cmd_keys_retire(args: argparse.Namespace) -> int:
    return _edit_keyset(args, lambda ks: ks.retire(args.key_id), "keys: {ids}; primary {primary!r}")


def cmd_keys_list(args: argparse.Namespace) -> int:
    keyset = Settings.from_env(args.environ).load_keyset()
    for key in keyset.keys:
        mark = "primary" if key.id == keyset.primary else ""
        print(f"{key.id}\t{key.created}\t{mark}".rstrip())
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    sp = facade(args)
    before, after = sp.store.upgrade()
    print(f"schema {'already ' if before == after else ''}at {after}" + ("" if before == after else f" (was {before})"))
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    current, head = facade(args).store.schema_status()
    print(f"database: {current or 'empty'}; this version needs: {head}")
    return 0 if current == head else 1


def _broken(exc: AuditChainError) -> int:
    for found in exc.problems:
        print(f"audit chain BROKEN: {found}", file=sys.stderr)
    return 1


def cmd_audit_verify(args: argparse.Namespace) -> int:
    sp = facade(args)
    anchor = AnchorFile(args.anchor).latest(required=True) if args.anchor else None
    try:
        report = sp.audit.verify(anchor=anchor)
        written = sp.audit.anchor()
    except AuditChainError as exc:
        return _broken(exc)
    if report.anchor is not None:
        tail = f"tail matches {report.anchor.describe()} (entry {report.anchor.head.last_seq})"
    elif sp.audit.anchor_file is not None:
        tail = f"no anchor in {sp.audit.anchor_file.path} yet"
    else:
        tail = "tail NOT checked: no anchor (set SHOPPRIVACY_AUDIT__ANCHOR_PATH or pass --anchor)"
    if written is not None:
        tail += f"; anchored entry {written.head.last_seq}"
    print(f"audit chain intact: {report.entries} entries, head {report.last_seq} {report.last_mac[:16]}; {tail}")
    return 0


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    sp = facade(args)
    if sp.audit.anchor_file is None:
        raise ConfigurationError("no anchor file: set SHOPPRIVACY_AUDIT__ANCHOR_PATH to an absolute path outside "
                                 "the database's reach", setting="SHOPPRIVACY_AUDIT__ANCHOR_PATH")
    try:
        written = sp.audit.anchor()
    except AuditChainError as exc:
        return _broken(exc)
    if written is not None:
        print(f"anchored entry {written.head.last_seq} in {sp.audit.anchor_file.path}")
    return 0


def cmd_audit_seal(args: argparse.Namespace) -> int:
    sp = facade(args)
    try:
        sealed = sp.audit.seal()
    except AuditChainError as exc:
        return _broken(exc)
    print("audit head sealed" if sealed else "nothing to seal: the audit head is absent or already sealed")
    return 0


def _run_due_in_workers(args: argparse.Namespace) -> dict[str, Any]:
    """``run-due --workers N``: N processes deliver the outbox side by side (each row leased by one of them);
    their counts added up (``dead_letters`` is a count of the table, so the largest)."""
    from .workers import add_up, run_workers

    argv = ["run-due", "--json"] + (["--limit", str(args.limit)] if args.limit is not None else [])
    results = run_workers(lambda _: argv, args.workers, env=args.environ)
    total = add_up(results)
    total["dead_letters"] = max((int(r.get("dead_letters", 0)) for r in results), default=0)
    total["audit_anchor_error"] = next((r["audit_anchor_error"] for r in results if r.get("audit_anchor_error")),
                                       None)
    return total


def cmd_run_due(args: argparse.Namespace) -> int:
    if args.workers > 1:
        summary = _run_due_in_workers(args)
    else:
        report = facade(args).run_due(limit=args.limit)
        out = report.outbox
        summary = {"delivered": out.delivered, "retried": out.retried, "dead": out.dead,
                   "superseded": out.superseded, "dead_letters": report.dead_letters,
                   "tasks": {name: dict(counts) for name, counts in report.tasks.items()},
                   "audit_anchor_error": report.audit_anchor_error}
    tasks: dict[str, dict[str, int]] = summary["tasks"]
    delivered, retried, dead, superseded = (summary[k] for k in ("delivered", "retried", "dead", "superseded"))
    if args.json:
        print(json.dumps(summary))
    elif delivered or retried or dead or superseded or any(any(c.values()) for c in tasks.values()):
        more = f", {superseded} superseded by newer rows" if superseded else ""
        print(f"outbox: {delivered} delivered, {retried} to retry, {dead} dead{more}")
        for name, counts in tasks.items():
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if summary["dead_letters"]:
        print(f"warning: {summary['dead_letters']} dead letter(s); see `shopprivacy outbox dead`", file=sys.stderr)
    if summary["audit_anchor_error"]:
        print(f"warning: audit head not anchored: {summary['audit_anchor_error']}", file=sys.stderr)
    return 0


def cmd_outbox_dead(args: argparse.Namespace) -> int:
    for row in facade(args).outbox.dead_letters(limit=args.limit):
        print(f"{row['id']}\t{row['topic']}\t{row['attempts']} attempts\t{row['last_error']}")
    return 0


def cmd_outbox_requeue(args: argparse.Namespace) -> int:
    facade(args).outbox.requeue(args.row_id)
    print(f"outbox row {args.row_id} requeued")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    findings = run_checks(args.environ, spelling=args.spelling or env_spelling, facade=args.facade)
    width = max(len(f.check) for f in findings)
    for f in findings:
        print(f"{f.level:<8} {f.check:<{width}}  {f.message}")
    return 1 if any(f.level == "problem" for f in findings) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopprivacy", description="Privacy mechanics for small online shops.")
    parser.add_argument("--version", action="version", version=f"shopprivacy {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    keys = sub.add_parser("keys", help="create and rotate keysets").add_subparsers(dest="keys_cmd", required=True)
    p = keys.add_parser("generate", help="print a new keyset (or write it with --out)")
    p.add_argument("--out", help="file to write (mode 0600)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_keys_generate)
    p = keys.add_parser("rotate", help="add a new primary key; old keys keep decrypting")
    p.add_argument("--file", help="keyset file (default SHOPPRIVACY_KEYSET_FILE)")
    p.add_argument("--stage", action="store_true", help="add the key without making it primary yet")
    p.set_defaults(func=cmd_keys_rotate)
    for name, func, text in (("promote", cmd_keys_promote, "make a staged key primary"),
                             ("retire", cmd_keys_retire, "remove an old key (re-encrypt first)")):
        p = keys.add_parser(name, help=text)
        p.add_argument("key_id")
        p.add_argument("--file", help="keyset file (default SHOPPRIVACY_KEYSET_FILE)")
        p.set_defaults(func=func)
    keys.add_parser("list", help="key ids, creation times, primary").set_defaults(func=cmd_keys_list)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("upgrade", help="create or upgrade the sp_ tables (idempotent)").set_defaults(func=cmd_db_upgrade)
    db.add_parser("status", help="schema version of the database").set_defaults(func=cmd_db_status)

    audit = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit_cmd", required=True)
    p = audit.add_parser("verify", help="check the chain, its sealed head and its tail against the anchor; exit 1 "
                                        "with one line per problem; then anchor the head")
    p.add_argument("--anchor", help="anchor file (or log lines) to check against, instead of "
                                    "SHOPPRIVACY_AUDIT__ANCHOR_PATH")
    p.set_defaults(func=cmd_audit_verify)
    audit.add_parser("anchor", help="append the sealed head to the anchor file if it moved (run-due does this)"
                     ).set_defaults(func=cmd_audit_anchor)
    audit.add_parser("seal", help="once, for a database from before heads were sealed: verify, then seal the head"
                     ).set_defaults(func=cmd_audit_seal)

    p = sub.add_parser("run-due", help="do all due work: expiries, reminders, retention, outbox deliveries")
    p.add_argument("--limit", type=int, help="deliver at most N outbox rows")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--workers", type=int, default=1, help="deliver with N processes side by side (docs/scaling.md)")
    p.set_defaults(func=cmd_run_due)

    ob = sub.add_parser("outbox", help="inspect the outbox").add_subparsers(dest="outbox_cmd", required=True)
    p = ob.add_parser("dead", help="list dead letters")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=cmd_outbox_dead)
    p = ob.add_parser("requeue", help="retry a dead letter")
    p.add_argument("row_id", type=int)
    p.set_defaults(func=cmd_outbox_requeue)

    sub.add_parser("doctor", help="check settings, keys, database, schema, adapters").set_defaults(func=cmd_doctor)
    # Each capability's subcommands (its ``add_commands`` sets ``func`` on its parsers).
    for add_commands in (add_breach_commands, add_declaration_commands, add_email_commands, add_fields_commands,
                         add_renewals_commands, add_retention_commands, add_rights_commands, add_sms_commands):
        add_commands(sub)
    return parser


def _error(exc: ShopPrivacyError) -> None:
    """One ``error:`` line per problem (a settings error lists each bad setting on its own line)."""
    for line in str(exc).splitlines() or [type(exc).__name__]:
        print(f"error: {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
         facade: Callable[[], ShopPrivacy] | None = None, spelling: Spelling | None = None) -> int:
    """Run the command line; ``environ`` replaces ``os.environ`` as the source of settings. ``facade``: an
    integration's configured facade (called only by commands that need one), used instead of a new one.
    ``spelling``: how the integration's configuration names a setting, for messages."""
    args = build_parser().parse_args(argv)
    args.environ, args.facade, args.spelling = environ, facade, spelling
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # urllib3's retry notes: the adapter reports the failure itself, in one line
        logging.getLogger("urllib3").setLevel(logging.ERROR)
    func: Command = args.func
    try:
        return func(args)
    except DatabaseUnavailable as exc:
        _error(exc)
        return 3
    except ShopPrivacyError as exc:
        _error(exc)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
