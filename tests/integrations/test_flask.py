import json

import pytest

flask = pytest.importorskip("flask")

from shopprivacy import Keyset  # noqa: E402
from shopprivacy.integrations.flask import ShopPrivacyFlask  # noqa: E402


@pytest.fixture
def app(tmp_path):
    app = flask.Flask(__name__)
    app.config.update(
        SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp_path}/sp.db",
        SHOPPRIVACY_KEYSET=Keyset.generate().to_json(),
        SHOPPRIVACY_PUBLIC_BASE_URL="http://localhost",
        SHOPPRIVACY_PLATFORM_OPTIONS={"database_url": f"sqlite:///{tmp_path}/shop.db"},
    )
    ShopPrivacyFlask(app)
    ShopPrivacyFlask.sp(app).store.upgrade()

    @app.get("/analytics-allowed")
    def allowed():
        return {"analytics": flask.g.shopprivacy_consent.allows("analytics")}

    @app.get("/page")
    def page():
        return flask.render_template_string("<head>{{ shopprivacy_banner('fr') }}</head>"
                                            "<body>{{ shopprivacy_noscript('fr') }}</body>")

    return app


def test_routes_are_mounted(app):
    client = app.test_client()
    gpc = client.get("/.well-known/gpc.json")
    assert gpc.status_code == 200 and gpc.json == {"gpc": True, "lastUpdate": "2026-11-24"}
    assert client.get("/privacy/consent/consent.js").status_code == 200
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert {"/privacy/unsubscribe", "/privacy/email/confirm", "/privacy/email/preferences", "/privacy/consent"} <= rules


def test_one_click_unsubscribe_through_flask_without_cookies(app):
    sp = ShopPrivacyFlask.sp(app)
    url = sp.email.unsubscribe_url("jane@example.com", "newsletter")
    client = app.test_client(use_cookies=False)
    path = url.replace("http://localhost", "")
    assert client.get(path).status_code == 200
    assert not sp.email.is_suppressed("jane@example.com", "newsletter")
    resp = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200
    assert sp.email.is_suppressed("jane@example.com", "newsletter")
    assert client.post("/privacy/unsubscribe?t=forged", data={"List-Unsubscribe": "One-Click"}).status_code == 400


def test_consent_state_on_g_and_banner_global(app):
    sp = ShopPrivacyFlask.sp(app)
    client = app.test_client()
    assert client.get("/analytics-allowed").json == {"analytics": False}
    resp = client.post("/privacy/consent", data=json.dumps({"method": "custom", "version": sp.consent.policy.version,
                                                            "granted": ["analytics"]}),
                       content_type="application/json")
    assert resp.status_code == 200 and "sp_consent=" in resp.headers["Set-Cookie"]
    assert client.get("/analytics-allowed").json == {"analytics": True}
    assert client.get("/analytics-allowed", headers={"Sec-GPC": "1"}).json == {"analytics": True}
    html = client.get("/page").get_data(as_text=True)
    assert "data-sp-config=" in html and "&lt;link" not in html and "<noscript" not in html  # a choice exists
    head, _, body = app.test_client().get("/page").get_data(as_text=True).partition("</head>")
    assert "<noscript" not in head and "<noscript><form" in body and "Tout accepter" in body


def test_cli_forwards_with_the_apps_config(app):
    result = app.test_cli_runner().invoke(args=["shopprivacy", "doctor"])
    assert "schema" in result.output and "current" in result.output
    result = app.test_cli_runner().invoke(args=["shopprivacy", "audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output


def test_sdk_pages_get_the_apps_csp_nonce_and_never_the_clients(app):
    """The SDK's pages put the app's nonce on their style and banner tags; a client cannot choose it."""

    @app.before_request
    def nonce():
        flask.g.csp_nonce = "n0nce-from-the-app"

    sp = ShopPrivacyFlask.sp(app)
    path = sp.email.unsubscribe_url("jane@example.com", "newsletter").replace("http://localhost", "")
    client = app.test_client(use_cookies=False)
    body = client.get(path, headers={"X-CSP-Nonce": "attacker"}).get_data(as_text=True)
    assert 'nonce="n0nce-from-the-app"' in body and "attacker" not in body


def test_a_client_sent_nonce_is_dropped_when_the_app_has_none(app):
    sp = ShopPrivacyFlask.sp(app)
    path = sp.email.unsubscribe_url("jane@example.com", "newsletter").replace("http://localhost", "")
    body = app.test_client().get(path, headers={"X-CSP-Nonce": "attacker"}).get_data(as_text=True)
    assert "attacker" not in body


def test_a_database_outage_is_a_503_with_retry_after_through_flask(sp):
    from ..outages import database_outage

    app = flask.Flask(__name__)
    ShopPrivacyFlask(app, sp=sp)
    path = sp.email.unsubscribe_url("jane@example.com", "newsletter").replace("https://shop.example", "")
    client = app.test_client(use_cookies=False)
    with database_outage(sp.store.engine):
        page = client.post(path, data={"List-Unsubscribe": "One-Click"}, headers={"Accept-Language": "nl"})
        beacon = client.post("/privacy/consent", json={"method": "reject_all", "version": sp.consent.policy.version})
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "Tijdelijk niet beschikbaar" in page.get_data(as_text=True)
    assert beacon.status_code == 503 and beacon.json == {"error": "unavailable", "retry_after": 30}
    assert not sp.email.is_suppressed("jane@example.com", "newsletter")
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # the link still works


def test_behind_a_trusted_proxy_the_portal_limits_each_client_not_the_proxy(sp):
    """The Flask test client's peer is 127.0.0.1: as the trusted proxy, its X-Forwarded-For names the client."""
    from shopprivacy import Settings, ShopPrivacy

    settings = Settings.build({**sp.settings.model_dump(), "web": {"trusted_proxies": ["127.0.0.0/8"]},
                               "rights": {"rate_limit_ip": 3}})

    behind = ShopPrivacy(settings, store=sp.store)
    app = flask.Flask(__name__)
    ShopPrivacyFlask(app, sp=behind)
    client = app.test_client(use_cookies=False)

    def portal(n, forwarded):
        return client.post("/privacy/rights", data={"action": "export", "email": f"visitor{n}@example.com"},
                           headers={"Origin": "https://shop.example", "X-Forwarded-For": forwarded}).status_code

    assert [portal(n, f"203.0.113.{n}") for n in range(6)] == [200] * 6  # six visitors, one proxy: no lockout
    assert [portal(n, "198.51.100.7") for n in range(10, 14)] == [200, 200, 200, 429]  # one visitor: limited
    # a client cannot escape its limit by writing its own X-Forwarded-For: the proxy appends the real address
    assert portal(20, "203.0.113.99, 198.51.100.7") == 429


def test_the_werkzeug_dev_server_does_not_log_link_tokens(sp):
    import logging
    import threading
    import time
    import urllib.request

    from werkzeug.serving import make_server

    app = flask.Flask(__name__)
    ShopPrivacyFlask(app, sp=sp)
    token = sp.email.unsubscribe_url("jane@example.com", "newsletter").split("?t=", 1)[1]
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    logger, collect = logging.getLogger("werkzeug"), Collect()
    logger.addHandler(collect)
    level, logger.level = logger.level, logging.INFO
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.port}/privacy/unsubscribe?t={token}"
        with urllib.request.urlopen(base) as resp:
            assert resp.status == 200
        one_click = urllib.request.Request(base + "&lang=fr", data=b"List-Unsubscribe=One-Click", method="POST")
        with urllib.request.urlopen(one_click) as resp:
            assert resp.status == 200
        deadline = time.monotonic() + 10
        while len(lines) < 2 and time.monotonic() < deadline:  # the request line is logged as the answer goes
            time.sleep(0.02)
    finally:
        server.shutdown()
        thread.join()
        logger.removeHandler(collect)
        logger.level = level
    log = "\n".join(lines)
    assert sp.email.is_suppressed("jane@example.com", "newsletter")
    assert "/privacy/unsubscribe?t=[redacted]" in log and "t=[redacted]&lang=fr" in log
    assert token not in log and token[:20] not in log


def test_head_on_a_link_never_acts(app):
    """Flask routes HEAD to every GET view: a link scanner's HEAD gets the GET page and unsubscribes nobody."""
    sp = ShopPrivacyFlask.sp(app)
    path = sp.email.unsubscribe_url("jane@example.com", "newsletter").replace("http://localhost", "")
    resp = app.test_client(use_cookies=False).head(path)
    assert resp.status_code == 200 and not sp.email.is_suppressed("jane@example.com", "newsletter")


def test_a_body_past_the_routes_bound_is_never_read(app):
    sp = ShopPrivacyFlask.sp(app)
    path = sp.email.unsubscribe_url("jane@example.com", "newsletter").replace("http://localhost", "")
    client = app.test_client(use_cookies=False)
    resp = client.post(path, data=b"List-Unsubscribe=One-Click&" + b"x" * (64 * 1024),
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 413 and not sp.email.is_suppressed("jane@example.com", "newsletter")
    fields = "&".join(f"f{i}=1" for i in range(200))
    resp = client.post(path, data="List-Unsubscribe=One-Click&" + fields,
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400 and not sp.email.is_suppressed("jane@example.com", "newsletter")


def test_a_staff_users_request_reads_through_an_audited_role_limited_reader(tmp_path):
    from shopprivacy.errors import AccessDenied
    from shopprivacy.fields import Identity, current_reader

    app = flask.Flask(__name__)
    app.config.update(
        SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp_path}/sp.db",
        SHOPPRIVACY_KEYSET=Keyset.generate().to_json(),
        SHOPPRIVACY_PUBLIC_BASE_URL="http://localhost",
        SHOPPRIVACY_FIELDS={"access": {"roles": {"support": {"read": ["customers.email"]}}}},
    )

    def staff():  # the shop's sign-in, e.g. flask_login.current_user
        who = flask.request.headers.get("X-Staff")
        return Identity(actor=f"staff:{who}", purpose=f"view {flask.request.endpoint}", role="support") if who else None

    ShopPrivacyFlask(app, staff=staff)
    sp = ShopPrivacyFlask.sp(app)
    sp.store.upgrade()
    tokens = {cid: sp.fields.encrypt(f"c{cid}@example.com", context="customers.email", row=cid, subject=f"c{cid}")
              for cid in range(20)}
    iban = sp.fields.encrypt("FR7612345", context="customers.iban", row=1, subject="c1")

    @app.get("/customers")
    def customers():
        reader = current_reader()
        if reader is None:
            return {"error": "staff only"}, 403
        return {"emails": [reader.decrypt(t, context="customers.email", row=cid) for cid, t in tokens.items()]}

    @app.get("/iban")
    def read_iban():
        try:
            return {"iban": current_reader().decrypt(iban, context="customers.iban", row=1)}
        except AccessDenied:
            return {"error": "not for your role"}, 403

    client = app.test_client()
    assert client.get("/customers").status_code == 403
    before = len(sp.audit.entries(action="fields.read"))
    listed = client.get("/customers", headers={"X-Staff": "42"})
    assert listed.status_code == 200 and len(listed.json["emails"]) == 20
    [entry] = sp.audit.entries(action="fields.read")[before:]
    assert entry.actor == "staff:42" and entry.meta["subjects"] == 20 and entry.meta["purpose"] == "view customers"
    assert client.get("/iban", headers={"X-Staff": "42"}).status_code == 403
    [denied] = sp.audit.entries(action="fields.read_denied")
    assert denied.actor == "staff:42" and denied.fields == ("customers.iban",)
    [access] = sp.fields.access_log.of(["c3"])
    assert access.actor == "staff:42"


def test_a_signed_in_customers_opt_out_of_sale_denies_sale_of_data_on_every_visit(tmp_path):
    app = flask.Flask(__name__)
    app.secret_key = "test"
    app.config.update(SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp_path}/sp.db",
                      SHOPPRIVACY_KEYSET=Keyset.generate().to_json(), SHOPPRIVACY_PUBLIC_BASE_URL="http://localhost")
    ShopPrivacyFlask(app, customer=lambda: {"email": flask.session["email"]} if "email" in flask.session else None)
    sp = ShopPrivacyFlask.sp(app)
    sp.store.upgrade()

    @app.get("/allowed")
    def allowed():
        state = flask.g.shopprivacy_consent
        return {c: state.allows(c) for c in ("sale_of_data", "analytics")}

    @app.get("/banner")
    def banner():
        return flask.render_template_string("{{ shopprivacy_banner('en') }}")

    @app.get("/login")
    def login():
        flask.session["email"] = flask.request.args["email"]
        return ""

    client = app.test_client()
    resp = client.post("/privacy/consent", data=json.dumps({
        "method": "custom", "version": sp.consent.policy.version, "granted": ["analytics", "sale_of_data"]}),
        content_type="application/json")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert client.get("/allowed").json == {"sale_of_data": True, "analytics": True}
    sp.rights.process(sp.rights.open("opt_out_sale", {"email": "jane@example.com"}, verified_by="shop-login").id)
    assert client.get("/allowed").json == {"sale_of_data": True, "analytics": True}  # not signed in: the cookie
    client.get("/login?email=Jane@Example.com")
    assert client.get("/allowed").json == {"sale_of_data": False, "analytics": True}
    assert 'data-sp-denied="sale_of_data"' in client.get("/banner").get_data(as_text=True)  # the banner follows
    client.get("/login?email=bob@example.com")
    assert client.get("/allowed").json == {"sale_of_data": True, "analytics": True}
    assert "data-sp-denied" not in client.get("/banner").get_data(as_text=True)
    sp.close()
