"""Screenshots of the example Flask shop for the README tour, written to ``docs/img/tour/``.

Run from the project root with a Python that has Flask and Playwright (the ``browser`` tox env) and Debian's
Chromium (``apt-get install chromium``; Playwright's own browser downloads are not used)::

    PYTHONPATH=src .tox/browser/bin/python docs/screenshots.py [--out docs/img/tour] [--chromium /usr/bin/chromium]

(``PYTHONPATH=src`` makes sure the checkout's ``shopprivacy`` is the one shown.)

It serves the shop as ``python -m examples.flask_shop.demo`` does, on a free port with its data in a temporary
folder (fresh keys, the published demo customer ``jane@example.com`` and one newsletter), and drives the pages a
visitor sees: the consent banner in English and Arabic, the newsletter's unsubscribe and preference pages, the
privacy portal and the receipt after *Delete my account*.
"""

from __future__ import annotations

import argparse
import logging
import re
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # ``python docs/screenshots.py`` puts docs/ first, not the project root
    sys.path.insert(0, str(ROOT))

from examples.flask_shop.commands import DEMO_EMAIL, DEMO_PASSWORD  # noqa: E402
from examples.flask_shop.demo import build_app  # noqa: E402
from flask import Flask  # noqa: E402
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
VIEWPORT: ViewportSize = {"width": 1100, "height": 720}
HOST = "127.0.0.1"


@contextmanager
def serve_shop(folder: Path) -> Iterator[tuple[Flask, str]]:
    """The seeded example shop served by werkzeug on a free port: ``(app, base_url)``."""
    with socket.socket() as probe:  # the app needs its public URL before the server binds
        probe.bind((HOST, 0))
        port = int(probe.getsockname()[1])
    app = build_app(folder, host=HOST, port=port)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the request log would print the signed links
    server = make_server(HOST, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://{HOST}:{port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        app.extensions["flask_shop"].engine.dispose()
        app.extensions["shopprivacy"].close()


def mail_link(app: Flask, base: str, kind: str, path: str) -> str:
    """The signed link to ``base + path`` in the newest ``kind`` mail (body or List-Unsubscribe header)."""
    files = app.extensions["flask_shop"].mail.messages(kind)
    if not files:
        raise SystemExit(f"no {kind} mail in the shop's mail folder")
    msg = message_from_bytes(files[-1].read_bytes(), policy=policy.default)
    text = str(msg.get_content()) + str(msg.get("List-Unsubscribe", ""))
    found = re.search(re.escape(base + path) + r"\?t=[A-Za-z0-9._=-]+", text)
    if found is None:
        raise SystemExit(f"no {path} link in the {kind} mail")
    return found.group(0)


def snap(page: Page, out: Path, name: str, *, rest: bool = False) -> None:
    """Save the visible viewport as ``out/name`` and say so. ``rest``: the pointer off the banner and no focus
    ring (the banner focuses its first button when it opens), so the buttons show their resting styles."""
    if rest:
        page.mouse.move(VIEWPORT["width"] - 10, VIEWPORT["height"] // 3)
        page.evaluate("document.activeElement && document.activeElement.blur()")
    target = out / name
    page.screenshot(path=str(target), full_page=False)
    print(f"{target} ({target.stat().st_size // 1024} KB)")


def open_shop(page: Page, url: str) -> None:
    """Open ``url`` and wait for the consent banner to show its buttons."""
    page.goto(url)
    page.wait_for_selector(".sp-cc-reject", state="visible")


def take(browser: Browser, app: Flask, base: str, out: Path) -> None:
    """Every screenshot of the tour, in an order that leaves the account deletion last."""
    arabic = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="ar", reduced_motion="reduce",
                                 extra_http_headers={"Accept-Language": "ar"})
    page = arabic.new_page()
    open_shop(page, base + "/")
    if (page.get_attribute(".sp-cc", "lang"), page.get_attribute(".sp-cc", "dir")) != ("ar", "rtl"):
        raise SystemExit("the banner did not open in Arabic, right to left")
    snap(page, out, "banner-ar.png", rest=True)
    arabic.close()

    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-GB",
                                  reduced_motion="reduce", extra_http_headers={"Accept-Language": "en-GB,en"})
    page = context.new_page()
    open_shop(page, base + "/")
    snap(page, out, "banner.png", rest=True)
    page.click(".sp-cc-customize")
    page.wait_for_selector("input[data-cat='analytics']", state="visible")
    snap(page, out, "banner-customize.png", rest=True)
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent") and r.request.method == "POST"):
        page.click(".sp-cc-reject")  # the choice is kept: the banner stays closed on the next pages

    page.goto(mail_link(app, base, "newsletter", "/privacy/unsubscribe"))  # GET only asks
    page.wait_for_selector("main form button[type=submit]")
    snap(page, out, "unsubscribe.png")
    page.goto(mail_link(app, base, "newsletter", "/privacy/email/preferences"))
    page.wait_for_selector("main form")
    snap(page, out, "preferences.png")
    page.goto(base + "/privacy/rights")
    page.wait_for_selector("main form")
    snap(page, out, "portal.png")

    page.goto(base + "/login")
    page.fill("#email", DEMO_EMAIL)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("#delete-password")
    page.fill("#delete-password", DEMO_PASSWORD)
    page.click("button.danger")
    page.wait_for_selector("table.receipt")
    # tall enough for the kept rows, short of the footer (the banner's "Privacy settings" button floats there)
    height = int(page.evaluate("Math.ceil(document.querySelector('main').getBoundingClientRect().bottom) + 16"))
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(height, VIEWPORT["height"]), 1200)})
    snap(page, out, "receipt.png")
    context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "tour", help="where to write the PNGs")
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium binary to drive")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"{args.chromium} is missing: install Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shop-screenshots-") as tmp, serve_shop(Path(tmp)) as (app, base), \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS, headless=True)
        try:
            take(browser, app, base, out)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
