"""``python -m shopprivacy.demo`` (``tox -e demo``): the example Flask shop on http://127.0.0.1:8000.

It creates a keyset and SQLite databases in ``./demo-data/flask_shop`` (or below the folder given), seeds the
products and a demo customer subscribed to the newsletter, writes one newsletter to the mail folder, serves the
shop (threaded) and prints the URLs to try; ``run-due`` runs every few seconds so rights requests and notices
move on their own. Ctrl-C stops it. ``--check`` starts the server, fetches the pages once and stops (for CI).

``--walkthrough`` runs the command-line walkthrough instead (no Flask needed): it encrypts a customer field,
runs a double opt-in and a one-click unsubscribe that reaches the reference shop through the outbox, records
a cookie-consent choice, verifies the audit chain, then tampers with a copy of the database to show that
verification names the edited entry.
"""

from __future__ import annotations

import argparse
import importlib
import socket
import sqlite3
import sys
import threading
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

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
    print("proof: " + ", ".join(h["action"] for h in sp.email.history("jane@example.com")))

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




# -- the shop ----------------------------------------------------------------------------------------------
def _shop_package() -> ModuleType:
    """``examples.flask_shop`` from the working directory or the checkout this module was installed from."""
    try:
        return importlib.import_module("examples.flask_shop")
    except ModuleNotFoundError as exc:
        if exc.name not in ("examples", "examples.flask_shop"):
            raise
    root = Path(__file__).resolve().parents[2]
    if not (root / "examples" / "flask_shop" / "__init__.py").is_file():
        raise SystemExit("the demo serves examples/flask_shop: run it from a checkout of the repository "
                         "(or use --walkthrough)")
    sys.path.insert(0, str(root))
    return importlib.import_module("examples.flask_shop")


def build_app(folder: Path, *, host: str = "127.0.0.1", port: int = 8000) -> Any:
    """The seeded Flask shop (``flask.Flask``) keeping its data in ``folder / "flask_shop"``."""
    try:
        import flask  # noqa: F401
    except ImportError:
        raise SystemExit("the demo needs Flask: pip install 'shopprivacy[flask]' (or use --walkthrough)") from None
    package = _shop_package()
    app = package.create_app({"SHOP_DATA_DIR": folder / "flask_shop",
                              "SHOPPRIVACY_PUBLIC_BASE_URL": f"http://{host}:{port}"})
    importlib.import_module("examples.flask_shop.commands").seed_demo(app)
    return app


def _urls(app: Any, base: str) -> list[tuple[str, str]]:
    """What to try, with the newest newsletter's unsubscribe link read from the mail folder."""
    from email import message_from_bytes, policy

    shop = app.extensions["flask_shop"]
    tries = [("the shop, with the cookie banner (Reject all: the analytics tag never loads)", base + "/"),
             ("log in as the demo customer (jane@example.com / correct horse battery)", base + "/login"),
             ("the privacy portal (download or delete my data)", base + "/privacy/rights"),
             ("the mail folder (.eml files: newsletter, opt-in and rights mails)", str(shop.mail.folder))]
    letters = shop.mail.messages("newsletter")
    if letters:
        msg = message_from_bytes(letters[-1].read_bytes(), policy=policy.default)
        link = str(msg.get("List-Unsubscribe", "")).split(",")[0].strip().strip("<>")
        tries.insert(3, ("the newsletter's unsubscribe link (GET asks; the button unsubscribes)", link))
    return tries


def _run_due_every(app: Any, seconds: float, stop: threading.Event) -> threading.Thread:
    sp = app.extensions["shopprivacy"]

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                sp.run_due()
            except Exception as exc:  # noqa: BLE001 - the next pass retries; the server keeps running
                print(f"run-due failed: {type(exc).__name__}", file=sys.stderr)

    thread = threading.Thread(target=loop, name="run-due", daemon=True)
    thread.start()
    return thread


def serve(folder: Path, *, host: str = "127.0.0.1", port: int = 8000, check: bool = False,
          run_due_seconds: float = 5.0) -> int:
    """Serve the shop until Ctrl-C (``check``: fetch the shop and the portal once, then stop)."""
    from werkzeug.serving import make_server

    if port == 0:
        with socket.socket() as probe:  # the app needs its public URL before the server binds
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
    app = build_app(folder, host=host, port=port)
    server = make_server(host, port, app, threaded=True)
    base = f"http://{host}:{server.server_port}"
    print(f"Bean There, a Flask shop using shopprivacy, is running on {base} (Ctrl-C stops it)\n")
    for text, url in _urls(app, base):
        print(f"  {text}:\n    {url}")
    print("\n  renewals: SHOP_DATA_DIR=" + str(app.config["SHOP_DATA_DIR"])
          + " flask --app examples.flask_shop.app renew\n", flush=True)
    stop = threading.Event()
    ticker = _run_due_every(app, run_due_seconds, stop)
    try:
        if check:
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            for path in ("/", "/privacy/rights", "/static/analytics.js"):
                with urllib.request.urlopen(base + path, timeout=30) as resp:  # noqa: S310 - our own server
                    print(f"check: GET {path} -> {resp.status}")
            server.shutdown()
            thread.join()
        else:
            server.serve_forever()  # returns on Ctrl-C (werkzeug catches KeyboardInterrupt)
    finally:
        stop.set()
        ticker.join(timeout=30)
        server.server_close()
        app.extensions["flask_shop"].engine.dispose()
        app.extensions["shopprivacy"].close()
        print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopprivacy.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", default="demo-data", help="where to keep keys and databases")
    parser.add_argument("--walkthrough", action="store_true", help="the command-line walkthrough, no server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--check", action="store_true", help="start, fetch the pages once, stop (for CI)")
    parser.add_argument("--run-due-every", type=float, default=5.0, metavar="SECONDS",
                        help="how often the server runs run-due (rights requests, notices, outbox)")
    args = parser.parse_args(argv)
    if args.walkthrough:
        return walkthrough(Path(args.folder))
    return serve(Path(args.folder), host=args.host, port=args.port, check=args.check,
                 run_due_seconds=max(args.run_due_every, 0.5))


if __name__ == "__main__":
    sys.exit(main())
