"""``python -m shopprivacy.demo``: a command-line walkthrough on embedded SQLite (no web framework needed).

It creates a keyset and a database in ``./demo-data`` (or the folder given), seeds the local reference shop,
encrypts a customer field, runs a double opt-in and a one-click unsubscribe that reaches the shop through the
outbox, records a cookie-consent choice, verifies the audit chain, then tampers with a copy of the database
to show that verification names the edited entry. ``tox -e demo`` serves the example Flask shop instead
(``examples/flask_shop/demo.py``), which keeps this walkthrough as ``--walkthrough``.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from sqlalchemy import update

from . import Keyset, Settings, ShopPrivacy
from .errors import AuditChainError
from .platforms.local import LocalShop
from .store import Store
from .store.schema import audit_log


def _step(text: str) -> None:
    print(f"\n== {text}")


def walkthrough(folder: Path) -> int:
    """The command-line walkthrough on embedded SQLite in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    keyfile, db = folder / "keys.json", folder / "shopprivacy.db"
    if not keyfile.exists():
        Keyset.generate().write(keyfile)
    settings = Settings(database_url=f"sqlite:///{db}", keyset_file=keyfile,
                        platform_options={"database_url": f"sqlite:///{folder / 'local-shop.db'}"})
    sp = ShopPrivacy(settings)
    _step("keys and database")
    print(f"keyset {keyfile} with key ids {', '.join(sp.keyring.ids)} (primary {sp.keyring.primary_id})")
    before, after = sp.store.upgrade()
    print(f"schema {after} in {db} (was {before or 'empty'})")

    _step("a customer in the local reference shop")
    shop = sp.adapter
    assert isinstance(shop, LocalShop)
    ref = shop.find_customer(email="jane@example.com")
    cid = ref.id if ref else shop.add_customer("jane@example.com", first_name="Jane")
    subject = sp.pseudonym(cid)
    print(f"customer {cid}; logs and audit only ever show its pseudonym {subject}")

    _step("encrypted fields: the e-mail is stored as a token bound to its column and row")
    token = sp.fields.encrypt("jane@example.com", context="customers.email", row=cid, subject=cid) or ""
    print(f"token {token[:40]}... -> {sp.fields.decrypt(token, context='customers.email', row=cid)}")
    print(f"blind index for lookups: {sp.fields.blind_index('  Jane@Example.COM', kind='email')}")

    _step("double opt-in, then a one-click unsubscribe (RFC 8058) through the web handler")
    link = sp.email.request_opt_in("jane@example.com", "newsletter", source="demo",
                                   consent_text_version="newsletter-v1")
    sp.email.confirm_opt_in(link.split("?t=", 1)[1], ip="203.0.113.7", user_agent="demo")
    sp.run_due()
    print(f"confirmed; the shop now says: {shop.customer(cid)['marketing_state']}")
    headers = sp.email.headers("jane@example.com", "newsletter")
    print(f"List-Unsubscribe-Post: {headers['List-Unsubscribe-Post']}")
    from .web import Request

    url = headers["List-Unsubscribe"].split(",")[0].strip("<> ")
    resp = sp.email_web.unsubscribe(Request("POST", "/privacy/unsubscribe", query={"t": url.split("?t=", 1)[1]},
                                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                                            body=b"List-Unsubscribe=One-Click"))
    report = sp.run_due()
    print(f"one-click POST answered {resp.status}; suppressed: "
          f"{sp.email.is_suppressed('jane@example.com', 'newsletter')}; "
          f"outbox delivered {report.outbox.delivered}; the shop now says: {shop.customer(cid)['marketing_state']}")
    print("proof: " + ", ".join(h["action"] for h in sp.email.subjects.history("jane@example.com")))

    _step("cookie consent: a visitor rejects everything; the proof is kept server side")
    from .consent.service import Choice

    consent_id, cookie = sp.consent.record(Choice(granted=frozenset(), method="reject_all"))
    print(f"consent {consent_id}: analytics allowed? "
          f"{sp.consent.state({'sp_consent': cookie.split('=', 1)[1].split(';')[0]}, {}).allows('analytics')}")

    _step("audit chain")
    verified = sp.audit.verify()
    print(f"intact: {verified.entries} entries, head {verified.last_seq}:{verified.last_mac[:16]}...")
    for entry in sp.audit.entries(limit=3):
        print(f"  #{entry.seq} {entry.at:%H:%M:%S} {entry.actor} {entry.action} {entry.subject} {list(entry.fields)}")

    _step("tampering with a copy of the database")
    copy = folder / "tampered.db"
    copy.unlink(missing_ok=True)
    with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # a consistent copy, WAL included
    tampered = Store.from_url(f"sqlite:///{copy}")
    with tampered.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == verified.last_seq).values(action="email.subscribed"))
    try:
        ShopPrivacy(settings.model_copy(update={"database_url": f"sqlite:///{copy}"})).audit.verify()
    except AuditChainError as exc:
        print(f"detected: {exc}")
    tampered.dispose()
    copy.unlink()
    sp.close()
    print(f"\nDone. Try: SHOPPRIVACY_KEYSET_FILE={keyfile} SHOPPRIVACY_DATABASE_URL=sqlite:///{db} "
          "shopprivacy doctor")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopprivacy.demo", description=__doc__)
    parser.add_argument("folder", nargs="?", default="demo-data", help="where to keep keys and databases")
    args = parser.parse_args(argv)
    return walkthrough(Path(args.folder))


if __name__ == "__main__":
    sys.exit(main())
