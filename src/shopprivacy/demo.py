"""``python -m shopprivacy.demo`` (``tox -e demo``): a walkthrough on embedded SQLite.

It creates a keyset and a database in ``./demo-data`` (or the folder given), seeds the local reference shop,
writes audit entries, sends a platform side effect through the outbox, verifies the audit chain, then
tampers with a copy of the database to show that verification names the edited entry.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import update

from . import Keyset, Settings, ShopPrivacy
from .errors import AuditChainError
from .platforms import MarketingConsentSink, MarketingConsentUpdate, require
from .platforms.local import LocalShop
from .store import Delivery, Store
from .store.schema import audit_log


def _step(text: str) -> None:
    print(f"\n== {text}")


def run(folder: Path) -> int:
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

    _step("an opt-out, written durably with its audit entry and outbox row in one transaction")
    sink = require(shop, MarketingConsentSink, "marketing consent")

    def deliver(d: Delivery) -> None:
        sink.set_marketing_consent(MarketingConsentUpdate(
            list_id=d.payload["list"], subscribed=False, opt_in_level="unknown",
            consent_updated_at=datetime.fromisoformat(d.payload["at"]), customer_id=d.payload["customer"]),
            idempotency_key=d.idempotency_key)

    sp.outbox.register("demo.marketing_consent", deliver)
    now = datetime.now(timezone.utc)
    with sp.store.begin() as conn:
        sp.audit.append(conn, actor="customer", action="email.unsubscribed", subject=subject, fields=["email"],
                        meta={"list": "newsletter"})
        sp.outbox.enqueue(conn, "demo.marketing_consent", {"customer": cid, "list": "newsletter",
                                                           "at": now.isoformat()},
                          idempotency_key=f"demo-unsub-{cid}-{now:%Y%m%d%H%M%S%f}")
    report = sp.run_due()
    print(f"run-due delivered {report.outbox.delivered}; shop now says: {shop.customer(cid)['marketing_state']}")

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
    return run(Path(args.folder))


if __name__ == "__main__":
    sys.exit(main())
