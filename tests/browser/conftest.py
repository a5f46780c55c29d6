"""Browser fixtures: Debian's Chromium driven by Playwright, against a shop served on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from shopprivacy import Keyset, Settings, ShopPrivacy

from .prepare import REQUIRED, missing
from .shop_app import ShopApp, serve

CHROMIUM = os.environ.get("SHOPPRIVACY_TEST_CHROMIUM", "/usr/bin/chromium")
_LACKING = missing(Path(os.environ["SHOPPRIVACY_TEST_AXE"]) if os.environ.get("SHOPPRIVACY_TEST_AXE") else None)


def pytest_collection_modifyitems(config, items):
    """On a machine without Chromium or axe-core, skip the browser tests with the one line saying what to install
    (prepare.py printed it too); with SHOPPRIVACY_TEST_REQUIRE_BROWSER=1 (CI) they run, and fail."""
    if _LACKING and not REQUIRED:
        here = Path(__file__).parent
        for item in items:
            if here in Path(item.path).parents:
                item.add_marker(pytest.mark.skip(reason=_LACKING))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="the browser env installs playwright")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def make_shop(tmp_path):
    """Start a shop; ``make_shop(consent=ConsentSettings(...))`` for another policy on the same database."""
    keyset = Keyset.generate()
    started = []
    port = free_port()

    def make(**overrides):
        settings = Settings(database_url=f"sqlite:///{tmp_path}/sp.db", keyset=keyset.to_json(),
                            public_base_url=f"http://127.0.0.1:{port}", **overrides)
        sp = ShopPrivacy(settings)
        sp.store.upgrade()
        app = ShopApp(sp)
        for srv, _ in started:
            srv.shutdown()
            srv.server_close()
        started.clear()
        started.append((serve(app, port), app))
        app.base = f"http://127.0.0.1:{port}"
        return app

    yield make
    for srv, _ in started:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def shop(make_shop):
    return make_shop()


#: Reports every Content-Security-Policy violation of every frame to the test (the shop sends a strict CSP).
CSP_WATCH = """document.addEventListener('securitypolicyviolation', function (e) {
  window.__spCspViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || '?') + ' at ' +
    (e.sourceFile || '?') + ':' + e.lineNumber);
}, true);"""


class CspWatch:
    """CSP violations seen in the test's browser contexts: events from the page and console reports."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def attach(self, context) -> None:
        context.expose_function("__spCspViolation", self._report)
        context.add_init_script(CSP_WATCH)
        context.on("console", self._console)

    def _report(self, text: str) -> None:
        self.violations.append(text)

    def _console(self, msg) -> None:
        if "Content Security Policy" in msg.text:
            self.violations.append(f"console: {msg.text}")


@pytest.fixture
def csp():
    return CspWatch()


@pytest.fixture
def new_context(browser, csp):
    """``new_context(**options)``: a browser context watched for CSP violations; the test fails on any."""
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        csp.attach(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert csp.violations == [], f"Content-Security-Policy violations: {csp.violations}"


@pytest.fixture
def page(new_context):
    return new_context(reduced_motion="reduce").new_page()




def wait_until(page, expression: str, timeout: float = 15.0) -> None:
    """Poll ``expression`` in ``page`` until it is truthy.

    Playwright's ``wait_for_function`` compiles a string predicate with ``eval`` inside the page when it has to
    poll, which the strict Content-Security-Policy of these pages (no ``'unsafe-eval'``) refuses, failing at
    random with the timing; ``page.evaluate`` runs through the DevTools protocol, outside the page's policy.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {expression}")
        page.wait_for_timeout(25)
