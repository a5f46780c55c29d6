"""``tox -e demo`` (``python -m examples.flask_shop.demo``): the example shop on http://127.0.0.1:8000.

It creates a keyset and SQLite databases in ``./demo-data/flask_shop`` (or below the folder given), seeds the
products and a demo customer subscribed to the newsletter, writes one newsletter to the mail folder, serves the
shop (threaded) and prints the URLs to try; ``run-due`` runs every few seconds so rights requests and notices
move on their own. Ctrl-C stops it. ``--check`` starts the server, fetches the pages once and stops (for CI);
``--walkthrough`` runs the SDK's command-line walkthrough (``python -m shopprivacy.demo``) instead.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import urllib.request
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from shopprivacy.demo import walkthrough

from .app import create_app
from .commands import seed_demo


def build_app(folder: Path, *, host: str = "127.0.0.1", port: int = 8000) -> Flask:
    """The seeded Flask shop keeping its data in ``folder / "flask_shop"``."""
    app = create_app({"SHOP_DATA_DIR": folder / "flask_shop", "SHOPPRIVACY_PUBLIC_BASE_URL": f"http://{host}:{port}"})
    seed_demo(app)
    return app


def _urls(app: Flask, base: str) -> list[tuple[str, str]]:
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


def _run_due_every(app: Flask, seconds: float, stop: threading.Event) -> threading.Thread:
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
    parser = argparse.ArgumentParser(prog="python -m examples.flask_shop.demo", description=__doc__,
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
