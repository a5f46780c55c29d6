"""The example Flask shop in Debian's headless Chromium: the banner gates the shop's analytics and marketing
tags under the shop's strict Content-Security-Policy (``new_context`` fails the test on any violation)."""

from __future__ import annotations

import socket
import threading
from collections import Counter

import pytest

pytest.importorskip("flask")

from shopprivacy import Keyset

ANALYTICS = ("/static/analytics.js", "/static/analytics-pixel.gif")
MARKETING = ("/static/marketing.js", "/static/marketing-pixel.gif")


@pytest.fixture
def flask_shop(tmp_path):
    """The example shop served by werkzeug on a free port; ``.hits`` counts requests per path."""
    from examples.flask_shop import create_app
    from werkzeug.serving import make_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app({"SHOP_DATA_DIR": tmp_path, "SHOPPRIVACY_KEYSET": Keyset.generate().to_json(),
                      "SHOPPRIVACY_PUBLIC_BASE_URL": base})
    hits: Counter[str] = Counter()
    inner = app.wsgi_app

    def counting(environ, start_response):
        hits[environ["PATH_INFO"]] += 1
        return inner(environ, start_response)

    app.wsgi_app = counting
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base, app.hits = base, hits
    yield app
    server.shutdown()
    thread.join()
    server.server_close()
    app.extensions["flask_shop"].engine.dispose()
    app.extensions["shopprivacy"].close()


def _open(page, shop, path="/"):
    page.goto(shop.base + path)
    page.wait_for_selector(".sp-cc-reject")


def _choose(page, button):
    with page.expect_response(lambda r: r.url.endswith("/privacy/consent") and r.request.method == "POST") as resp:
        page.click(button)
    assert resp.value.status == 200


def test_reject_all_never_requests_the_analytics_tag(new_context, flask_shop):
    page = new_context().new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    _open(page, flask_shop)
    assert flask_shop.hits["/privacy/consent/consent.js"] == 1  # the banner itself loaded
    _choose(page, ".sp-cc-reject")
    for path in ("/", "/login", "/privacy/rights"):  # the next pages, with the choice remembered
        page.goto(flask_shop.base + path)
        page.wait_for_selector(".sp-cc-open")  # the banner ran: a granted tag would have started by now
    assert not [u for u in requested if u.endswith(ANALYTICS + MARKETING) or "-pixel.gif" in u]
    assert all(flask_shop.hits[p] == 0 for p in ANALYTICS + MARKETING)
    assert page.evaluate("window.shopAnalyticsLoaded === undefined && window.shopMarketingLoaded === undefined")


def test_accept_all_loads_the_analytics_and_marketing_tags(new_context, flask_shop):
    page = new_context().new_page()
    _open(page, flask_shop)
    assert flask_shop.hits["/static/analytics.js"] == 0
    with page.expect_request(lambda r: "/static/analytics-pixel.gif" in r.url):
        _choose(page, ".sp-cc-accept")
    page.wait_for_function("window.shopAnalyticsLoaded === true && window.shopMarketingLoaded === true")
    with page.expect_request(lambda r: "/static/marketing-pixel.gif" in r.url):
        page.reload()
    assert all(flask_shop.hits[p] >= 1 for p in ANALYTICS + MARKETING)
    # the next page starts them at once, without asking again
    with page.expect_request(lambda r: "/static/analytics-pixel.gif" in r.url):
        page.goto(flask_shop.base + "/signup")
    page.wait_for_function("window.shopAnalyticsLoaded === true")
    assert page.locator(".sp-cc-reject").count() == 0 or not page.locator(".sp-cc-reject").is_visible()


def test_customize_analytics_only_leaves_marketing_off(new_context, flask_shop):
    page = new_context().new_page()
    _open(page, flask_shop)
    page.click(".sp-cc-customize")
    page.check("input[data-cat='analytics']")
    with page.expect_request(lambda r: "/static/analytics-pixel.gif" in r.url):
        _choose(page, ".sp-cc-save")
    page.wait_for_function("window.shopAnalyticsLoaded === true")
    page.reload()
    page.wait_for_function("window.shopAnalyticsLoaded === true")
    assert page.evaluate("window.shopMarketingLoaded === undefined")
    assert flask_shop.hits["/static/analytics.js"] >= 1
    assert all(flask_shop.hits[p] == 0 for p in MARKETING)


def _mail_link(shop, kind, path):
    import re
    from email import message_from_bytes, policy

    files = shop.extensions["flask_shop"].mail.messages(kind)
    assert files, f"no {kind} mail"
    msg = message_from_bytes(files[-1].read_bytes(), policy=policy.default)
    text = msg.get_content() + str(msg.get("List-Unsubscribe", ""))
    return re.search(re.escape(shop.base + path) + r"\?t=[A-Za-z0-9._=-]+", text).group(0)


def test_journey_sign_up_confirm_unsubscribe_and_delete_the_account(new_context, flask_shop):
    page = new_context().new_page()
    _open(page, flask_shop, "/signup")
    _choose(page, ".sp-cc-reject")
    page.fill("#email", "jane@example.com")
    page.fill("#password", "correct horse battery")
    page.fill("#address", "12 rue des Lilas\n69001 Lyon")
    page.check("input[name=newsletter]")
    page.click("form[action='/signup'] button[type=submit]")
    page.wait_for_selector("#newsletter-state")
    assert "Waiting for your confirmation" in page.inner_text("#newsletter-state")

    page.goto(_mail_link(flask_shop, "optin", "/privacy/email/confirm"))  # the SDK's page, under the shop's CSP
    page.click("main form button[type=submit]")
    page.wait_for_selector("h1")
    page.goto(flask_shop.base + "/account")
    assert "You get the newsletter" in page.inner_text("#newsletter-state")

    runner = flask_shop.test_cli_runner()
    assert "1 newsletter" in runner.invoke(args=["send-newsletter"]).output
    page.goto(_mail_link(flask_shop, "newsletter", "/privacy/unsubscribe"))
    assert page.locator("main form button[type=submit]").count() == 1  # GET only asks
    page.click("main form button[type=submit]")
    page.wait_for_load_state("load")
    page.goto(flask_shop.base + "/account")
    assert "You do not get the newsletter" in page.inner_text("#newsletter-state")

    page.fill("#delete-password", "correct horse battery")
    page.click("button.danger")
    page.wait_for_selector("table.receipt")
    assert "shop_customers" in page.inner_text("table.receipt")
    sp = flask_shop.extensions["shopprivacy"]
    assert sp.email.is_suppressed("jane@example.com")
    page.goto(flask_shop.base + "/login")
    page.fill("#email", "jane@example.com")
    page.fill("#password", "correct horse battery")
    page.click("main form button[type=submit]")
    assert "Wrong e-mail address or password" in page.inner_text("main")
