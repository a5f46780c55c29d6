"""Fixtures: a real WordPress with the shopprivacy consent plugin on ``127.0.0.2``, the backend with the SDK on
``127.0.0.1``, and Debian's Chromium (the browser suite's fixtures, reused).

Without php-cli, php-mysql, Debian's ``wordpress`` or MariaDB the tests are skipped with one line saying what is
missing, unless ``SHOPPRIVACY_TEST_REQUIRE_WORDPRESS=1`` (set by .ci/run for CI) makes that a failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO) not in sys.path:  # the browser suite's fixtures live in the core's tests package
    sys.path.insert(0, str(REPO))

from tests.browser.conftest import browser, csp, make_shop, new_context  # noqa: E402,F401 - fixtures, by name

from shopprivacy.consent.settings import ConsentSettings  # noqa: E402

from .wpsite import WordPress, missing  # noqa: E402


@pytest.fixture(scope="session")
def wordpress_available() -> None:
    why = missing()
    if why is None:
        return
    if os.environ.get("SHOPPRIVACY_TEST_REQUIRE_WORDPRESS") == "1":
        pytest.fail(f"SHOPPRIVACY_TEST_REQUIRE_WORDPRESS=1 but {why}")
    pytest.skip(f"WordPress tests skipped: {why}")


@pytest.fixture
def make_wordpress(wordpress_available, make_shop, tmp_path):
    """``make_wordpress(admin=False)`` → ``(site, shop)``: WordPress serving the storefront with the plugin
    active, the backend listing its origin."""
    sites: list[WordPress] = []

    def make(*, admin: bool = False) -> tuple[WordPress, object]:
        site = WordPress(tmp_path / f"wordpress{len(sites)}", admin=admin)
        sites.append(site)
        shop = make_shop(consent=ConsentSettings(allowed_origins=[site.origin]))
        site.install(shop.base + "/privacy").start()
        return site, shop

    yield make
    for site in sites:
        site.stop()


@pytest.fixture
def wordpress(make_wordpress):
    return make_wordpress()
