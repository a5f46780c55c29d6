"""The Django integration in a configured project (one module: Django settings are process-wide)."""

import json
import sys

import pytest

django = pytest.importorskip("django")

from .django_project import URLCONF, configure  # noqa: E402


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    configure(tmp_path_factory.mktemp("django"))
    urls = sys.modules[URLCONF]
    from django.http import JsonResponse
    from django.template import engines
    from django.urls import include, path

    from shopprivacy.integrations.django import get_sp

    get_sp.cache_clear()
    get_sp().store.upgrade()

    def allowed(request):
        return JsonResponse({"analytics": request.shopprivacy_consent.allows("analytics")})

    def page(request):
        tpl = engines["django"].from_string("{% load shopprivacy %}<head>{% shopprivacy_banner 'de' %}</head>"
                                              "<body>{% shopprivacy_noscript 'de' %}</body>")
        from django.http import HttpResponse

        return HttpResponse(tpl.render({"request": request}))

    urls.urlpatterns = [path("", include("shopprivacy.integrations.django.urls")),
                        path("allowed", allowed), path("page", page)]
    return get_sp()


def test_routes_middleware_and_csrf_exemption(project):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert json.loads(client.get("/.well-known/gpc.json").content)["gpc"] is True
    assert client.get("/allowed").json() == {"analytics": False}
    v = project.consent.policy.version
    resp = client.post("/privacy/consent", data=json.dumps({"method": "custom", "version": v,
                                                            "granted": ["analytics"]}),
                       content_type="application/json")
    assert resp.status_code == 200, resp.content  # exempt from CSRF: a beacon, checked by content type
    assert client.get("/allowed").json() == {"analytics": True}


def test_one_click_unsubscribe(project):
    from django.test import Client

    url = project.email.unsubscribe_url("jane@example.com", "newsletter").replace("http://testserver", "")
    client = Client(enforce_csrf_checks=True)
    assert client.get(url).status_code == 200
    resp = client.post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200
    assert project.email.is_suppressed("jane@example.com", "newsletter")


def test_template_tag(project):
    from django.test import Client

    client = Client()
    html = client.get("/page").content.decode()
    head, _, body = html.partition("</head>")
    assert "data-sp-config=" in head and "<noscript" not in head
    assert "<noscript><form" in body and "Alle akzeptieren" in body
    choice = {"method": "reject_all", "version": project.consent.policy.version}
    client.post("/privacy/consent", data=json.dumps(choice), content_type="application/json")
    html = client.get("/page").content.decode()
    assert "data-sp-config=" in html and "<noscript" not in html  # gone once a choice exists


def test_checks_and_commands(project, capsys):
    from django.core import checks
    from django.core.management import call_command

    assert [m for m in checks.run_checks() if m.id.startswith("shopprivacy")] == []
    call_command("shopprivacy_doctor")
    assert "schema" in capsys.readouterr().out
    call_command("shopprivacy_run_due")
    call_command("shopprivacy", "audit", "verify")
    assert "intact" in capsys.readouterr().out


def test_encrypted_model_fields(project):
    from django.db import connection, models

    from shopprivacy.integrations.django.fields import BlindIndexField, EncryptedCharField, EncryptedTextField

    class Customer(models.Model):
        email = EncryptedCharField(max_length=200)
        email_bidx = BlindIndexField(source="email", kind="email")
        note = EncryptedTextField(null=True)

        class Meta:
            app_label = "shopprivacy"

    with connection.schema_editor() as editor:
        editor.create_model(Customer)
    c = Customer.objects.create(email="Jane@Example.com", note="likes tea")
    with connection.cursor() as cur:
        cur.execute("SELECT email, note FROM shopprivacy_customer WHERE id = %s", [c.pk])
        raw_email, raw_note = cur.fetchone()
    assert raw_email.startswith("spf1.") and "Jane" not in raw_email and raw_note.startswith("spf1.")
    found = Customer.objects.get(email_bidx=BlindIndexField.of("  jane@example.COM"))
    assert found.email == "Jane@Example.com" and found.note == "likes tea"


@pytest.fixture(scope="module")
def member_model(project):
    """A model with per-subject encryption, a blind index and a field kept on erasure."""
    from django.db import connection, models

    from shopprivacy.integrations.django.fields import BlindIndexField, EncryptedCharField

    class Member(models.Model):
        key = models.CharField(max_length=40, unique=True)
        email = EncryptedCharField(max_length=200, subject_field="key", null=True)
        email_bidx = BlindIndexField(source="email", kind="email", null=True, unique=True)
        first_name = models.CharField(max_length=100, null=True)
        invoice_no = models.CharField(max_length=20, default="")

        class Meta:
            app_label = "shopprivacy"

    with connection.schema_editor() as editor:
        editor.create_model(Member)
    return Member


def _source(model, **kw):
    from shopprivacy.integrations.django.sources import ModelSource

    return ModelSource(model, lookup="email_bidx", fields=("email", "first_name", "invoice_no"),
                       subject_key_field="key", rectify={"email": "email", "first_name": "first_name"}, **kw)


def test_model_source_exports_rectifies_and_erases_with_shredding(project, member_model):
    from django.db import connection

    from shopprivacy.errors import ConflictError
    from shopprivacy.rights import Retain
    from shopprivacy.rights.model import Subject

    member_model.objects.all().delete()
    m = member_model.objects.create(key="m1", email="Ann@Example.com", first_name="Ann", invoice_no="F-1")
    member_model.objects.create(key="m2", email="bob@example.com", first_name="Bob")
    with connection.cursor() as cur:
        cur.execute("SELECT email FROM shopprivacy_member WHERE key = 'm1'")
        old_token = cur.fetchone()[0]
    assert old_token.startswith("spf1s.")  # under the subject key of "m1"
    source = _source(member_model, actions={"invoice_no": Retain("invoice: tax law")})
    ann = Subject(email="ann@example.com")
    assert source.find(ann) == 1 and source.find(Subject(email="nobody@example.com")) == 0
    [row] = source.export(ann)["rows"]
    assert row["email"] == "Ann@Example.com" and row["invoice_no"] == "F-1"

    receipt = source.rectify(ann, {"email": "ann.new@example.com", "phone": "+1"})
    assert [(f.field, f.outcome) for f in receipt.fields] == [("email", "corrected")]
    assert source.find(ann) == 0  # the blind index followed the e-mail
    new = Subject(email="ann.new@example.com")
    assert member_model.objects.get(pk=m.pk).email == "ann.new@example.com"
    with connection.cursor() as cur:
        cur.execute("SELECT email FROM shopprivacy_member WHERE key = 'm1'")
        corrected_token = cur.fetchone()[0]
    assert corrected_token.startswith("spf1s.")  # the corrected value is under m1's key too
    with pytest.raises(ConflictError):  # bob's address is taken: nothing is written
        source.rectify(Subject(email="bob@example.com"), {"email": "ann.new@example.com"})
    assert member_model.objects.get(key="m2").email == "bob@example.com"

    receipt = source.erase(new)
    outcomes = {f.field: (f.outcome, f.reason) for f in receipt.fields}
    assert outcomes["invoice_no"] == ("retained", "invoice: tax law") and outcomes["email"][0] == "erased"
    assert outcomes["key:subject-key"] == ("erased", "crypto-shredded")
    kept = member_model.objects.get(pk=m.pk)
    assert kept.email is None and kept.email_bidx is None and kept.invoice_no == "F-1"
    for token in (old_token, corrected_token):  # copies (a backup) are unreadable
        with pytest.raises(Exception, match="shredded"):
            project.fields.decrypt(token, context="shopprivacy_member.email", row="*")
    assert member_model.objects.get(key="m2").email == "bob@example.com"  # others untouched
    assert source.erase(new).fields[0].outcome == "not_held"  # idempotent


def test_model_source_deletes_rows_and_a_shredded_value_loads_as_none(project, member_model):
    from django.db import connection

    from shopprivacy.rights.model import Subject

    member_model.objects.all().delete()
    member_model.objects.create(key="m3", email="cy@example.com")
    member_model.objects.create(key="m4", email="dee@example.com")
    project.fields.shred("m4")
    assert member_model.objects.get(key="m4").email is None  # loads, without the destroyed value
    receipt = _source(member_model, delete_rows=True).erase(Subject(email="cy@example.com"))
    assert receipt.rows == 1 and {f.outcome for f in receipt.fields} == {"erased"}
    with connection.cursor() as cur:
        cur.execute("SELECT key FROM shopprivacy_member")
        assert [r[0] for r in cur.fetchall()] == ["m4"]


def test_model_source_configuration_errors_name_the_field(project, member_model):
    from shopprivacy.errors import ConfigurationError
    from shopprivacy.integrations.django.sources import ModelSource
    from shopprivacy.rights import Retain

    with pytest.raises(ConfigurationError, match="no field"):
        ModelSource(member_model, lookup="email_bidx", fields=("nope",))
    with pytest.raises(ConfigurationError, match="match must be"):
        ModelSource(member_model, lookup="email_bidx", fields=(), match="iban")
    with pytest.raises(ConfigurationError, match="NOT NULL"):
        ModelSource(member_model, lookup="email_bidx", fields=("invoice_no",))
    with pytest.raises(ConfigurationError, match="'iban' cannot be corrected"):
        ModelSource(member_model, lookup="email_bidx", fields=(), rectify={"iban": "first_name"})
    with pytest.raises(ConfigurationError, match="is encrypted"):
        ModelSource(member_model, lookup="email", fields=())
    with pytest.raises(ConfigurationError, match="'first_name' cannot be written to it"):
        # the lookup's blind index follows "email": only an e-mail correction (confirmed from the new address)
        # may move it, never a name correction mapped onto it
        ModelSource(member_model, lookup="email_bidx", fields=(), rectify={"first_name": "email"})
    with pytest.raises(ConfigurationError, match="'email_bidx' cannot be corrected"):
        ModelSource(member_model, lookup="key", match="customer_id", fields=(), rectify={"email": "email_bidx"})
    with pytest.raises(ConfigurationError, match="needs a reason"):
        ModelSource(member_model, lookup="email_bidx", fields=("first_name",), actions={"first_name": Retain(" ")})


def test_configure_hook_runs_on_the_new_facade(project):
    from django.conf import settings
    from django.test import override_settings

    from shopprivacy.errors import ConfigurationError
    from shopprivacy.integrations.django import get_sp

    seen = []
    try:
        with override_settings(SHOPPRIVACY={**settings.SHOPPRIVACY, "configure": seen.append}):
            get_sp.cache_clear()
            assert seen == [get_sp()]
        with override_settings(SHOPPRIVACY={**settings.SHOPPRIVACY, "configure": "no.such.module.configure"}):
            get_sp.cache_clear()
            with pytest.raises(ConfigurationError, match="cannot import"):
                get_sp()
    finally:
        get_sp.cache_clear()
        get_sp().store.upgrade()


def test_subject_field_must_exist_before_the_first_save(project):
    from django.db import models

    from shopprivacy.integrations.django.fields import EncryptedCharField

    class AutoKeyed(models.Model):
        email = EncryptedCharField(max_length=200, subject_field="id")
        note = EncryptedCharField(max_length=200, subject_field="nope")

        class Meta:
            app_label = "shopprivacy"

    ids = {e.id for f in (AutoKeyed._meta.get_field("email"), AutoKeyed._meta.get_field("note")) for e in f.check()}
    assert ids == {"shopprivacy.E101", "shopprivacy.E102"}


def test_a_database_outage_is_a_503_with_retry_after_through_django(project):
    from django.test import Client

    from shopprivacy.integrations.django import get_sp

    from ..outages import database_outage

    project = get_sp()  # the facade the views answer with (an earlier test may have rebuilt it)
    path = project.email.unsubscribe_url("outage@example.com", "newsletter").replace("http://testserver", "")
    client = Client(enforce_csrf_checks=True)
    with database_outage(project.store.engine):
        page = client.post(path, data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded", HTTP_ACCEPT_LANGUAGE="es")
        beacon = client.post("/privacy/consent", data=json.dumps({"method": "reject_all",
                                                                  "version": project.consent.policy.version}),
                             content_type="application/json")
    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert "No disponible temporalmente" in page.content.decode()
    assert beacon.status_code == 503 and beacon.json() == {"error": "unavailable", "retry_after": 30}
    assert not project.email.is_suppressed("outage@example.com", "newsletter")
    resp = client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200 and project.email.is_suppressed("outage@example.com", "newsletter")


def test_behind_a_trusted_proxy_the_portal_limits_each_client_not_the_proxy(project):
    from django.conf import settings
    from django.test import Client, override_settings

    from shopprivacy.integrations.django import get_sp

    def portal(n, forwarded):
        return Client().post("/privacy/rights", f"action=export&email=visitor{n}%40example.com",
                             content_type="application/x-www-form-urlencoded", HTTP_ORIGIN="http://testserver",
                             HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.5").status_code

    config = {**settings.SHOPPRIVACY, "web": {"trusted_proxies": ["10.0.0.0/8"]}, "rights": {"rate_limit_ip": 3}}
    try:
        with override_settings(SHOPPRIVACY=config):
            get_sp.cache_clear()
            assert [portal(n, f"203.0.113.{n}") for n in range(5)] == [200] * 5
            assert [portal(n, "198.51.100.8") for n in range(10, 14)] == [200, 200, 200, 429]
            assert portal(20, "203.0.113.99, 198.51.100.8") == 429
    finally:
        get_sp.cache_clear()


def test_runserver_does_not_log_link_tokens(project):
    import logging
    import threading
    import time
    import urllib.request

    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    token = project.email.unsubscribe_url("logs@example.com", "newsletter").split("?t=", 1)[1]
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)  # what `manage.py runserver` serves with
    server.set_app(get_wsgi_application())  # applies LOGGING again: handlers go, the SDK's filter stays
    logger, collect = logging.getLogger("django.server"), Collect()
    logger.addHandler(collect)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/privacy/unsubscribe?t={token}"
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": "testserver"})) as resp:
            assert resp.status == 200
        one_click = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST",
                                           headers={"Host": "testserver"})
        with urllib.request.urlopen(one_click) as resp:
            assert resp.status == 200
        deadline = time.monotonic() + 10
        while len(lines) < 2 and time.monotonic() < deadline:  # runserver logs after it has answered
            time.sleep(0.02)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        logger.removeHandler(collect)
    log = "\n".join(lines)
    assert project.email.is_suppressed("logs@example.com", "newsletter")
    assert "GET /privacy/unsubscribe?t=[redacted]" in log and "POST /privacy/unsubscribe?t=[redacted]" in log
    assert token not in log and token[:20] not in log


def test_bodies_past_the_bound_or_with_a_broken_length_are_refused_before_reading(project):
    from django.test import Client

    url = project.email.unsubscribe_url("ann@example.com", "newsletter").replace("http://testserver", "")
    client = Client()
    form = "application/x-www-form-urlencoded"
    assert client.post(url, data=b"x" * (64 * 1024 + 1), content_type=form).status_code == 413
    for length in ("abc", "-1"):
        assert client.post(url, data=b"List-Unsubscribe=One-Click", content_type=form,
                           CONTENT_LENGTH=length).status_code == 400
    too_many = "List-Unsubscribe=One-Click&" + "&".join(f"f{i}=1" for i in range(200))
    assert client.post(url, data=too_many, content_type=form).status_code == 400
    assert client.head(url).status_code == 200
    assert not project.email.is_suppressed("ann@example.com", "newsletter")


def test_a_listed_storefront_origin_records_consent_through_django(project):
    """CORS preflight and the cross-origin beacon pass the CSRF middleware; other origins are refused."""
    from django.conf import settings
    from django.test import Client, override_settings

    from shopprivacy.integrations.django import get_sp

    store = "https://store.example"
    try:
        with override_settings(SHOPPRIVACY={**settings.SHOPPRIVACY, "consent": {"allowed_origins": [store]}}):
            get_sp.cache_clear()
            sp = get_sp()
            client = Client(enforce_csrf_checks=True)
            pre = client.options("/privacy/consent", headers={"Origin": store,
                                                              "Access-Control-Request-Method": "POST"})
            assert pre.status_code == 204 and pre["Access-Control-Allow-Origin"] == store
            assert client.options("/privacy/consent", headers={"Origin": "https://evil.example",
                                                               "Access-Control-Request-Method": "POST"}
                                  ).status_code == 403
            v = sp.consent.policy.version
            first = client.post("/privacy/consent", content_type="application/json", headers={"Origin": store},
                                data=json.dumps({"method": "accept_all", "version": v,
                                                 "granted": ["analytics", "marketing"]}))
            assert first.status_code == 200 and first["Access-Control-Allow-Origin"] == store
            value = first.json()["cookie"]["value"]
            back = client.post("/privacy/consent", content_type="application/json",
                               headers={"Origin": store, "Sec-GPC": "1"},
                               data=json.dumps({"method": "custom", "version": v, "granted": [], "cookie": value}))
            assert back.json()["consent_id"] == first.json()["consent_id"] and back.json()["method"] == "withdraw"
            refused = client.post("/privacy/consent", content_type="application/json",
                                  headers={"Origin": "https://evil.example"},
                                  data=json.dumps({"method": "reject_all", "version": v}))
            assert refused.status_code == 403
            conf = client.get("/privacy/consent/config", {"locale": "nl"}, headers={"Origin": store})
            assert conf.status_code == 200 and conf.json()["lang"] == "nl"
            assert {v.strip() for v in conf["Vary"].split(",")} == {"Origin", "Accept-Encoding"}
            history = sp.consent.export(first.json()["consent_id"])
            assert [(r["method"], r["gpc"]) for r in history] == [("accept_all", False), ("withdraw", True)]
    finally:
        get_sp.cache_clear()


def test_the_banner_files_are_served_compressed_and_versioned(project):
    import gzip

    from django.test import Client

    from shopprivacy.consent import assets

    v = assets.version()
    assert f"consent.js?v={v}" in Client().get("/page").content.decode()
    resp = Client().get(f"/privacy/consent/consent.js?v={v}", HTTP_ACCEPT_ENCODING="gzip")
    assert resp.status_code == 200 and resp["Content-Encoding"] == "gzip" and "immutable" in resp["Cache-Control"]
    assert gzip.decompress(resp.content) == assets.asset("consent.js").body


def test_staff_requests_read_encrypted_model_fields_audited_and_role_limited(project, member_model, monkeypatch):
    from types import SimpleNamespace

    from shopprivacy.fields import AccessPolicy, FieldsSettings, RoleAccess, start_reading
    from shopprivacy.integrations.django import get_sp
    from shopprivacy.integrations.django.fields import Withheld
    from shopprivacy.integrations.django.middleware import StaffReadsMiddleware

    project = get_sp()  # the facade the middleware uses (an earlier test may have rebuilt it)

    for i in range(5):
        member_model.objects.create(key=f"staff-{i}", email=f"m{i}@example.com")
    superuser = SimpleNamespace(is_authenticated=True, is_staff=True, is_superuser=True, pk=7)
    customer = SimpleNamespace(is_authenticated=True, is_staff=False, is_superuser=False, pk=8)

    def listing(request):
        return [m.email for m in member_model.objects.filter(key__startswith="staff-").order_by("key")]

    middleware = StaffReadsMiddleware(listing)
    before = len(project.audit.entries(action="fields.read"))
    assert middleware(SimpleNamespace(user=customer, resolver_match=None)) == [f"m{i}@example.com" for i in range(5)]
    assert len(project.audit.entries(action="fields.read")) == before  # not staff: nothing to audit
    assert middleware(SimpleNamespace(user=superuser, resolver_match=SimpleNamespace(view_name="admin:members")))
    [entry] = project.audit.entries(action="fields.read")[before:]
    assert entry.actor == "staff:7" and entry.meta["role"] == "superuser" and entry.meta["subjects"] == 5
    assert entry.meta["purpose"] == "view admin:members"

    narrow = FieldsSettings(access=AccessPolicy(roles={"superuser": RoleAccess(read=["orders.*"])}))
    monkeypatch.setattr(project.fields, "settings", narrow)
    shown = middleware(SimpleNamespace(user=superuser, resolver_match=None))
    assert all(isinstance(v, Withheld) and str(v) == "<redacted>" for v in shown)
    assert len(project.audit.entries(action="fields.read_denied")) == 5
    member = member_model.objects.get(key="staff-0")
    finish = start_reading(project.fields.reader(actor="staff:7", purpose="edit", role="superuser"))
    try:
        member = member_model.objects.get(key="staff-0")
        assert isinstance(member.email, Withheld)
        member.save()  # saving what the role could not read keeps the stored value
    finally:
        finish()
    monkeypatch.undo()
    assert member_model.objects.get(key="staff-0").email == "m0@example.com"
    from shopprivacy.integrations.django.fields import BlindIndexField

    assert member_model.objects.get(email_bidx=BlindIndexField.of("m0@example.com")).key == "staff-0"


def test_a_signed_in_customers_opt_out_of_sale_shapes_their_consent_state(project):
    from types import SimpleNamespace

    from django.conf import settings
    from django.http import JsonResponse
    from django.test import Client, override_settings
    from django.urls import clear_url_caches, path

    from shopprivacy.integrations.django.runtime import signed_in_customer

    urls = sys.modules[URLCONF]

    def sale(request):
        return JsonResponse({"sale_of_data": request.shopprivacy_consent.allows("sale_of_data")})

    urls.urlpatterns = [*urls.urlpatterns, path("sale", sale)]
    clear_url_caches()
    client = Client()
    v = project.consent.policy.version
    client.post("/privacy/consent", data=json.dumps({"method": "custom", "version": v, "granted": ["sale_of_data"]}),
                content_type="application/json")
    project.rights.process(project.rights.open("opt_out_sale", {"email": "ann@example.com"},
                                               verified_by="shop-login").id)
    # the default: the e-mail address of an authenticated request.user (Django's AuthenticationMiddleware)
    user = SimpleNamespace(is_authenticated=True, email="ann@example.com")
    assert signed_in_customer(SimpleNamespace(user=user)) == {"email": "ann@example.com"}
    assert signed_in_customer(SimpleNamespace(user=SimpleNamespace(is_authenticated=False, email="x@y.z"))) is None
    assert client.get("/sale").json() == {"sale_of_data": True}
    hook = {**settings.SHOPPRIVACY, "signed_in_customer": lambda request: (
        {"email": request.headers["X-Customer"]} if "X-Customer" in request.headers else None)}
    with override_settings(SHOPPRIVACY=hook):
        assert client.get("/sale", headers={"X-Customer": "ann@example.com"}).json() == {"sale_of_data": False}
        assert client.get("/sale", headers={"X-Customer": "bob@example.com"}).json() == {"sale_of_data": True}
        assert client.get("/sale").json() == {"sale_of_data": True}
