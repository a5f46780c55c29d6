"""The Django integration in a configured project (one module: Django settings are process-wide)."""

import json
import sys
import types

import pytest

django = pytest.importorskip("django")

from shopprivacy import Keyset  # noqa: E402


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from django.conf import settings

    tmp = tmp_path_factory.mktemp("django")
    urls = types.ModuleType("sp_test_urls")
    sys.modules["sp_test_urls"] = urls
    if not settings.configured:
        settings.configure(
            DEBUG=False, SECRET_KEY="test-only", ALLOWED_HOSTS=["testserver"], ROOT_URLCONF="sp_test_urls",
            INSTALLED_APPS=["django.contrib.contenttypes", "shopprivacy.integrations.django"],
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware",
                        "shopprivacy.integrations.django.middleware.ConsentMiddleware"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp / "shop.db")}},
            TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
            SHOPPRIVACY={"database_url": f"sqlite:///{tmp / 'sp.db'}", "keyset": Keyset.generate().to_json(),
                         "public_base_url": "http://testserver"},
            USE_TZ=True,
        )
    django.setup()
    from django.http import JsonResponse
    from django.template import engines
    from django.urls import include, path

    from shopprivacy.integrations.django import get_sp

    get_sp.cache_clear()
    get_sp().store.upgrade()

    def allowed(request):
        return JsonResponse({"analytics": request.shopprivacy_consent.allows("analytics")})

    def page(request):
        tpl = engines["django"].from_string("{% load shopprivacy %}<head>{% shopprivacy_banner 'de' %}</head>")
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

    html = Client().get("/page").content.decode()
    assert "data-sp-config=" in html and "Alle akzeptieren" in html


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
