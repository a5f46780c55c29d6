"""Both example shops (Flask and Django) in Debian's headless Chromium, under each shop's strict
Content-Security-Policy (``new_context`` fails the test on any violation): the banner gates the analytics and
marketing tags, and the whole privacy journey works end to end.

The Flask shop runs in a thread of this process; the Django shop runs as its own ``runserver`` process (Django's
settings are process-wide), and the test reads its SDK database through a facade of its own.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from shopprivacy import Keyset, Settings, ShopPrivacy

from .conftest import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
ANALYTICS = ("/static/analytics.js", "/static/analytics-pixel.gif")
MARKETING = ("/static/marketing.js", "/static/marketing-pixel.gif")
EMAIL, PASSWORD = "jane@example.com", "correct horse battery"


@dataclass
class RunningShop:
    """A shop served on ``base``: its mail folder, a facade on its SDK database, and its commands."""

    name: str
    base: str
    mail_dir: Path
    sdk: ShopPrivacy
    command: Callable[[str], str]  # "send-newsletter" or "run-due": the command's output
    table: str  # the shop's customer table, as the receipt names it
    served: Callable[[str], int]  # how many requests for a path the server answered

    def mail_link(self, kind: str, path: str) -> str:
        files = sorted(self.mail_dir.glob(f"*-{kind}.eml"))
        assert files, f"no {kind} mail"
        msg = message_from_bytes(files[-1].read_bytes(), policy=policy.default)
        text = msg.get_content() + str(msg.get("List-Unsubscribe", ""))
        found = re.search(re.escape(self.base + path) + r"\?t=[A-Za-z0-9._=-]+", text)
        assert found, f"no {path} link in the {kind} mail"
        return found.group(0)


@pytest.fixture
def flask_shop(tmp_path: Path) -> Iterator[RunningShop]:
    pytest.importorskip("flask")
    from examples.flask_shop import create_app
    from werkzeug.serving import make_server

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app({"SHOP_DATA_DIR": tmp_path, "SHOPPRIVACY_KEYSET": Keyset.generate().to_json(),
                      "SHOPPRIVACY_PUBLIC_BASE_URL": base})
    hits: Counter[str] = Counter()
    inner = app.wsgi_app

    def counting(environ, start_response):
        hits[environ["PATH_INFO"]] += 1
        return inner(environ, start_response)

    app.wsgi_app = counting  # type: ignore[method-assign]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def command(name: str) -> str:
        args = ["shopprivacy", "run-due"] if name == "run-due" else [name]
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
        return result.output

    yield RunningShop("flask", base, tmp_path / "mail", app.extensions["shopprivacy"], command, "shop_customers",
                      hits.__getitem__)
    server.shutdown()
    thread.join()
    server.server_close()
    app.extensions["flask_shop"].engine.dispose()
    app.extensions["shopprivacy"].close()


@pytest.fixture
def django_shop(tmp_path: Path) -> Iterator[RunningShop]:
    pytest.importorskip("django")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    keyset = Keyset.generate().to_json()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPPRIVACY_", "SHOP_", "DJANGO_"))}
    env.update(SHOP_DATA_DIR=str(tmp_path), SHOPPRIVACY_KEYSET=keyset, SHOPPRIVACY_PUBLIC_BASE_URL=base,
               PYTHONUNBUFFERED="1")
    manage = [sys.executable, "-m", "examples.django_shop"]

    def run(*args: str) -> str:
        done = subprocess.run([*manage, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("migrate", "--verbosity", "0")
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/", timeout=5):
                break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
    sdk = ShopPrivacy(Settings(database_url=f"sqlite:///{tmp_path / 'shopprivacy.db'}", keyset=keyset,
                               public_base_url=base))

    def command(name: str) -> str:
        return run({"run-due": "shopprivacy_run_due", "send-newsletter": "send_newsletter"}[name])

    def served(path: str) -> int:  # runserver logs each request: "GET /static/analytics.js HTTP/1.1" 200
        log.flush()
        text = (tmp_path / "server.log").read_text(errors="replace")
        return len(re.findall(r'"[A-Z]+ ' + re.escape(path) + r'(?:\?[^ ]*)? HTTP/', text))

    assert eventually(lambda: served("/") >= 1)  # the log is what it counts (written after each answer)
    yield RunningShop("django", base, tmp_path / "mail", sdk, command, "store_customer", served)
    sdk.close()
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture(params=["flask", "django"])
def shop(request: pytest.FixtureRequest) -> RunningShop:
    return request.getfixturevalue(f"{request.param}_shop")


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """``check()`` once it holds, or its last answer after ``timeout`` (a server logs a request after answering)."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def _open(page, shop: RunningShop, path: str = "/") -> None:
    page.goto(shop.base + path)
    page.wait_for_selector(".sp-cc-reject")


def _choose(page, button: str) -> None:
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent") and r.request.method == "POST") as resp:
        page.click(button)
    assert resp.value.status == 200


def test_reject_all_never_requests_the_analytics_tag(new_context, shop):
    page = new_context().new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    _open(page, shop)
    _choose(page, ".sp-cc-reject")
    for path in ("/", "/login", "/privacy/rights"):  # the next pages, with the choice remembered
        page.goto(shop.base + path)
        page.wait_for_selector(".sp-cc-open")  # the banner ran: a granted tag would have started by now
    assert any(u.split("?")[0].endswith("/privacy/consent/consent.js") for u in requested)  # the banner itself loaded
    assert not [u for u in requested if u.split("?")[0].endswith(ANALYTICS + MARKETING)]
    assert shop.served("/privacy/consent/consent.js") >= 1
    assert all(shop.served(p) == 0 for p in ANALYTICS + MARKETING)
    assert page.evaluate("window.shopAnalyticsLoaded === undefined && window.shopMarketingLoaded === undefined")


def test_accept_all_loads_the_analytics_and_marketing_tags(new_context, shop):
    page = new_context().new_page()
    _open(page, shop)
    with page.expect_request(lambda r: "/static/analytics-pixel.gif" in r.url):
        _choose(page, ".sp-cc-accept")
    wait_until(page, "window.shopAnalyticsLoaded === true && window.shopMarketingLoaded === true")
    with page.expect_request(lambda r: "/static/marketing-pixel.gif" in r.url):  # the next page, at once
        page.goto(shop.base + "/signup")
    wait_until(page, "window.shopAnalyticsLoaded === true")
    assert not page.locator(".sp-cc-reject").is_visible()
    assert eventually(lambda: all(shop.served(p) >= 1 for p in ANALYTICS + MARKETING))  # the count is real


def test_customize_analytics_only_leaves_marketing_off(new_context, shop):
    page = new_context().new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    _open(page, shop)
    page.click(".sp-cc-customize")
    page.check("input[data-cat='analytics']")
    with page.expect_request(lambda r: "/static/analytics-pixel.gif" in r.url):
        _choose(page, ".sp-cc-save")
    page.reload()
    wait_until(page, "window.shopAnalyticsLoaded === true")
    assert page.evaluate("window.shopMarketingLoaded === undefined")
    assert not [u for u in requested if u.split("?")[0].endswith(MARKETING)]


def _one_click(url: str) -> int:
    """The RFC 8058 POST a mailbox provider sends: no cookies, no CSRF token, no Origin."""
    req = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return int(resp.status)


def test_the_whole_privacy_journey(new_context, shop):
    """Reject the banner; sign up with the newsletter; confirm from the mail; the newsletter's unsubscribe link
    asks on GET and the one-click POST unsubscribes; the portal's export arrives as a zip with the account's
    data; deleting the account shows the receipt, ends the login and keeps the address suppressed."""
    page = new_context(accept_downloads=True).new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    _open(page, shop, "/signup")
    _choose(page, ".sp-cc-reject")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.fill("#phone", "+33 6 12 34 56 78")
    page.fill("#address", "12 rue des Lilas\n69001 Lyon")
    page.check("input[name=newsletter]")
    page.click("form[action='/signup'] button[type=submit]")
    page.wait_for_selector("#newsletter-state")
    assert "Waiting for your confirmation" in page.inner_text("#newsletter-state")

    page.goto(shop.mail_link("optin", "/privacy/email/confirm"))  # the SDK's page, under the shop's CSP
    page.click("main form button[type=submit]")
    page.wait_for_selector("h1")
    page.goto(shop.base + "/account")
    assert "You get the newsletter" in page.inner_text("#newsletter-state")

    assert "1 newsletter" in shop.command("send-newsletter")
    unsubscribe = shop.mail_link("newsletter", "/privacy/unsubscribe")
    page.goto(unsubscribe)
    assert page.locator("main form button[type=submit]").count() == 1  # GET only asks
    assert not shop.sdk.email.is_suppressed(EMAIL, "newsletter")
    assert _one_click(unsubscribe) == 200
    assert shop.sdk.email.is_suppressed(EMAIL, "newsletter")
    page.goto(shop.base + "/account")
    assert "You do not get the newsletter" in page.inner_text("#newsletter-state")

    page.goto(shop.base + "/privacy/rights")
    page.fill("form:has(input[value=export]) input[name=email]", EMAIL)
    page.click("form:has(input[value=export]) button[type=submit]")
    page.wait_for_load_state("load")
    shop.command("run-due")
    page.goto(shop.mail_link("rights-verify", "/privacy/rights/verify"))
    page.click("main form button[type=submit]")
    page.wait_for_load_state("load")
    shop.command("run-due")
    page.goto(shop.mail_link("rights-export_ready", "/privacy/rights/download"))
    with page.expect_download() as download:
        page.click("main form button[type=submit]")
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        data = json.loads(archive.read("data.json"))
    [row] = data["sources"][shop.table]["rows"]
    assert row["email"] == EMAIL and row["phone"] == "+33 6 12 34 56 78" and row["address"].startswith("12 rue")

    page.goto(shop.base + "/account")
    page.fill("#delete-password", PASSWORD)
    page.click("button.danger")
    page.wait_for_selector("table.receipt")
    assert shop.table in page.inner_text("table.receipt")
    assert shop.sdk.email.is_suppressed(EMAIL)  # every list, after erasure too
    page.goto(shop.base + "/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    assert "Wrong e-mail address or password" in page.inner_text("main")
    assert not [u for u in requested if u.split("?")[0].endswith(ANALYTICS + MARKETING)]  # rejected throughout


def test_without_javascript_the_consent_form_is_in_the_body_until_the_choice(new_context, shop):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(shop.base + "/signup")
    form = page.locator("form.sp-cc-noscript")
    assert form.count() == 1 and form.is_visible()
    assert form.evaluate("f => f.closest('body') !== null && getComputedStyle(f).position === 'fixed'")
    with page.expect_navigation():
        page.click("form.sp-cc-noscript .sp-cc-accept")
    page.goto(shop.base + "/")
    assert page.locator("form.sp-cc-noscript").count() == 0  # gone once the choice exists


def test_django_shop_pages_are_marked_english_while_the_banner_speaks_the_visitors_language(new_context,
                                                                                            django_shop):
    page = new_context(extra_http_headers={"Accept-Language": "ar"}).new_page()
    _open(page, django_shop)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_attribute(".sp-cc", "lang") == "ar" and page.get_attribute(".sp-cc", "dir") == "rtl"
