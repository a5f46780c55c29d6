"""Browser fixtures: Debian's Chromium driven by Playwright, against a shop served on 127.0.0.1."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from shopprivacy import Keyset, Settings, ShopPrivacy

from .shop_app import ShopApp, serve

CHROMIUM = os.environ.get("SHOPPRIVACY_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]


def _free_port() -> int:
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
    port = _free_port()

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


@pytest.fixture
def page(browser):
    context = browser.new_context(reduced_motion="reduce")
    pg = context.new_page()
    yield pg
    context.close()


