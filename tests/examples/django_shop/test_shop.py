"""The example Django shop end to end with Django's test client (CSRF checks on), on the ``db_url`` store."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.management.base import CommandError
from django.db import connection
from examples.shop_common import newsletter
from sqlalchemy import select

from shopprivacy.platforms.local import customers as platform_customers

from ..conftest import BASE, RARE_PROFILE, link_in, mails, personal_bytes, sqlite_files
from .conftest import csrf, log_in, manage, new_client, sign_up

pytestmark = pytest.mark.db

EMAIL = "jane@example.com"


def _raw_customers() -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM store_customer")
        return list(cursor.fetchall())


def test_sign_up_stores_the_account_encrypted_and_logs_in_by_blind_index(client, sp):
    resp = sign_up(client, email="  Jane@Example.com ")
    assert resp.status_code == 302 and resp["Location"] == "/account"
    [row] = _raw_customers()
    raw = " ".join(str(v) for v in row)
    assert "jane@example.com" not in raw.lower() and "Lilas" not in raw and "34 56" not in raw
    assert sp.fields.blind_index(EMAIL, kind="email") in row
    page = client.get("/account").content.decode()
    assert "Jane@Example.com" in page and "12 rue des Lilas" in page

    fresh = new_client()
    assert log_in(fresh, "JANE@example.COM").status_code == 302  # the blind index normalises the address
    assert fresh.get("/account").status_code == 200
    assert log_in(new_client(), EMAIL, "wrong password").status_code == 401
    assert log_in(new_client(), "nobody@example.com").status_code == 401
    again = sign_up(new_client())
    assert again.status_code == 400 and "exists" in again.content.decode()
    assert len(_raw_customers()) == 1


def test_bad_sign_up_input_is_a_400_page_and_writes_nothing(client, sp):
    assert sign_up(client, email="not-an-address").status_code == 400
    assert sign_up(client, password="short").status_code == 400
    assert sign_up(client, address="x" * 501).status_code == 400
    assert _raw_customers() == []


def test_newsletter_double_opt_in_through_the_mail_folder(client, shop, sp):
    sign_up(client, newsletter="yes")
    assert newsletter.state(sp, EMAIL) == "pending"
    [optin] = mails(shop, "optin")
    link = link_in(optin, "/privacy/email/confirm")
    anonymous = new_client()
    assert anonymous.get(link).status_code == 200  # a prefetch (mail scanner) confirms nothing
    assert newsletter.state(sp, EMAIL) == "pending"
    assert anonymous.post(link).status_code == 200  # the SDK's endpoint needs no CSRF token
    assert newsletter.state(sp, EMAIL) == "subscribed"
    assert "You get the newsletter" in client.get("/account").content.decode()


def test_opt_in_from_the_account_page_is_rate_limited_with_a_429(client, shop, sp):
    sign_up(client)
    assert mails(shop, "optin") == []
    resp = client.post("/account/newsletter", {"csrfmiddlewaretoken": csrf(client, "/account")})
    assert resp.status_code == 302 and len(mails(shop, "optin")) == 1
    for _ in range(3):
        last = client.post("/account/newsletter", {"csrfmiddlewaretoken": csrf(client, "/account")})
    assert last.status_code == 429 and len(mails(shop, "optin")) == 3


def _subscribe(client, shop):
    sign_up(client, newsletter="yes")
    assert new_client().post(link_in(mails(shop, "optin")[-1], "/privacy/email/confirm")).status_code == 200


def test_newsletter_carries_list_unsubscribe_and_one_click_suppresses(client, shop, sp):
    _subscribe(client, shop)
    sign_up(new_client(), email="bob@example.com")  # not subscribed: gets no newsletter
    assert "1 newsletter" in manage("send_newsletter", "--subject", "November")
    [letter] = mails(shop, "newsletter")
    assert letter["To"] == EMAIL and letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<([^>]+)>", letter["List-Unsubscribe"]).group(1)
    assert url.startswith(BASE + "/privacy/unsubscribe?t=")
    path = url[len(BASE):]
    provider = new_client()  # a mailbox provider: no cookies, no CSRF token
    assert provider.get(path).status_code == 200 and not sp.email.is_suppressed(EMAIL, "newsletter")
    one_click = {"data": "List-Unsubscribe=One-Click", "content_type": "application/x-www-form-urlencoded"}
    assert provider.post(path, **one_click).status_code == 200
    assert sp.email.is_suppressed(EMAIL, "newsletter") and newsletter.state(sp, EMAIL) == "unsubscribed"
    assert provider.post(path, **one_click).status_code == 200  # idempotent
    assert "0 newsletter" in manage("send_newsletter") and len(mails(shop, "newsletter")) == 1


def test_portal_export_is_verified_by_mail_and_downloads_the_account_data(client, shop, sp):
    sign_up(client)
    portal = new_client()
    page = portal.get("/privacy/rights")
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">' in page.content.decode()  # the SDK's page gets the shop's nonce
    form = {"data": urlencode({"action": "export", "email": EMAIL}),
            "content_type": "application/x-www-form-urlencoded"}  # as a browser posts the portal's form
    assert portal.post("/privacy/rights", **form, headers={"Origin": BASE}).status_code == 200
    assert portal.post("/privacy/rights", **form).status_code == 403  # no Origin
    manage("shopprivacy_run_due")
    [verify] = mails(shop, "rights-verify")
    link = link_in(verify, "/privacy/rights/verify")
    assert portal.get(link).status_code == 200 and portal.post(link).status_code == 200
    manage("shopprivacy_run_due")
    download = link_in(mails(shop, "rights-export_ready")[0], "/privacy/rights/download")
    resp = portal.post(download)
    assert resp.status_code == 200 and resp["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.content)) as archive:
        data = json.loads(archive.read("data.json"))
    [row] = data["sources"]["store_customer"]["rows"]
    assert row["email"] == EMAIL and row["phone"] == "+33 6 12 34 56 78" and row["address"].startswith("12 rue")
    assert portal.post(download).status_code == 410  # downloadable once
    # what a browser sends from the SDK's page: a real Origin, or "null" with Sec-Fetch-Site
    null_origin = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    assert portal.post("/privacy/rights", **form, headers=null_origin).status_code == 200
    cross_site = {"Origin": "null", "Sec-Fetch-Site": "cross-site"}
    assert portal.post("/privacy/rights", **form, headers=cross_site).status_code == 403


def test_rectifying_the_email_moves_the_login_and_the_blind_index(client, shop, sp):
    sign_up(client)
    req = sp.rights.open("rectify", {"email": EMAIL}, channel="account", verified_by="shop-login",
                         changes={"email": "jane.doe@example.org", "phone": "+33 7 11 22 33 44"})
    assert sp.rights.process(req.id).state == "awaiting_new"  # the new address is confirmed from itself first
    assert log_in(new_client(), "jane.doe@example.org").status_code == 401
    manage("shopprivacy_run_due")
    [mail] = mails(shop, "rights-verify_new")
    assert mail["To"] == "jane.doe@example.org" and "j***@e******.org" in mail.get_content()
    link = link_in(mail, "/privacy/rights/verify-new")
    mailbox_owner = new_client()
    assert mailbox_owner.get(link).status_code == 200 and log_in(new_client()).status_code == 302
    assert mailbox_owner.post(link).status_code == 200
    done = sp.rights.process(req.id)
    assert done.state == "done"
    outcomes = {(s.source, f.field): f.outcome for s in sp.rights.receipt(done.id).sources for f in s.fields}
    assert outcomes[("store_customer", "email")] == outcomes[("store_customer", "phone")] == "corrected"
    assert log_in(new_client(), EMAIL).status_code == 401
    fresh = new_client()
    assert log_in(fresh, "jane.doe@example.org").status_code == 302
    page = fresh.get("/account").content.decode()
    assert "jane.doe@example.org" in page
    assert "+33711223344" in page  # the SDK normalises a corrected phone number
    assert sp.fields.blind_index("jane.doe@example.org", kind="email") in _raw_customers()[0]
    manage("shopprivacy_run_due")
    [told] = mails(shop, "rights-identifier_changed")  # the previous address is told, the new one masked
    assert told["To"] == EMAIL and "j***@e******.org" in told.get_content()
    assert "jane.doe@example.org" not in told.get_content()


def test_delete_account_gives_a_receipt_and_keeps_the_address_suppressed(client, shop, sp):
    _subscribe(client, shop)
    assert client.post("/subscribe/coffee-club", {"csrfmiddlewaretoken": csrf(client)}).status_code == 302
    [row] = _raw_customers()
    cid = row[0]
    from examples.django_shop.store.models import Customer

    pid = Customer.objects.get(id=cid).platform_customer_id
    assert pid is not None
    wrong = client.post("/account/delete", {"csrfmiddlewaretoken": csrf(client, "/account"), "password": "nope"})
    assert wrong.status_code == 303 and len(_raw_customers()) == 1
    token = csrf(client, "/account")
    resp = client.post("/account/delete", {"csrfmiddlewaretoken": token, "password": "correct horse battery"})
    html = resp.content.decode()
    assert resp.status_code == 200 and "Your account is deleted" in html and "crypto-shredded" in html
    assert "My account" not in html and ">Log in<" in html  # the receipt page is already signed out
    assert _raw_customers() == []
    assert client.get("/account").status_code == 302  # signed out
    assert log_in(new_client()).status_code == 401
    assert sp.email.is_suppressed(EMAIL)
    manage("shopprivacy_run_due")  # the platform's copy is erased through the outbox
    with shop.platform.engine.connect() as conn:
        email = conn.execute(select(platform_customers.c.email).where(platform_customers.c.id == pid)).scalar_one()
    assert email != EMAIL
    request_id = re.search(r"<code>([^<]+)</code>", html).group(1)
    assert sp.rights.get(request_id).state == "done"


def test_renew_command_bills_once_per_period(client, shop, sp):
    sign_up(client)
    assert client.post("/subscribe/coffee-club", {"csrfmiddlewaretoken": csrf(client)}).status_code == 302
    assert client.post("/subscribe/beans-250", {"csrfmiddlewaretoken": csrf(client)}).status_code == 404
    again = client.post("/subscribe/coffee-club", {"csrfmiddlewaretoken": csrf(client)}, follow=True)
    assert "You already subscribe" in again.content.decode()  # a second click subscribes nobody twice
    assert shop.platform.billing_count() == 1

    def renew(days: int) -> str:
        return manage("renew", "--until", (sp.clock() + timedelta(days=days)).isoformat())

    assert "nothing due" in renew(1)
    assert "billed 1" in renew(32)
    assert "billed 1" not in renew(32)  # the same period is never billed twice
    assert "billed 1" in renew(63) and shop.platform.billing_count() == 3
    with pytest.raises(CommandError, match="ISO 8601"):
        manage("renew", "--until", "next tuesday")


def test_bad_links_and_forms_show_pages_never_a_stack_trace(client, sp):
    for path in ("/privacy/unsubscribe?t=forged", "/privacy/email/confirm?t=forged",
                 "/privacy/rights/verify?t=forged", "/privacy/rights/download?t=forged"):
        resp = client.get(path, headers={"Accept-Language": "fr"})
        body = resp.content.decode()
        assert 400 <= resp.status_code < 500 and 'lang="fr"' in body and "Traceback" not in body
        assert client.post(path).status_code < 500
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "Page not found" in missing.content.decode()
    no_token = client.post("/login", {"email": EMAIL, "password": "x"})  # no CSRF token
    assert no_token.status_code == 400 and "form has expired" in no_token.content.decode()
    assert client.get("/account").status_code == 302
    assert client.post("/subscribe/coffee-club").status_code == 400  # no CSRF token


def test_the_banner_follows_the_visitors_language_and_the_shops_nonce(client, sp):
    page = client.get("/", headers={"Accept-Language": "ar"})
    html = page.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    assert re.search(r'consent\.js\?v=[0-9a-f]{12}" data-sp-config=', html) and f'nonce="{nonce}"' in html
    config = re.search(r'data-sp-config="([^"]+)"', html).group(1).replace("&quot;", '"')
    assert json.loads(config)["dir"] == "rtl" and json.loads(config)["lang"] == "ar"
    assert '<script type="text/plain" data-consent="analytics"' in html  # inert until granted
    # the shop's pages are in English whatever the visitor's language; only the banner speaks Arabic
    assert re.search(r"<html[^>]*>", html).group(0) == '<html lang="en">'


def test_the_no_script_form_is_in_the_body_until_a_choice_exists(client, sp):
    html = client.get("/signup").content.decode()
    head, _, body = html.partition("</head>")
    assert "<noscript" not in head and body.count('<noscript><form class="sp-cc sp-cc-noscript"') == 1
    assert body.index("<noscript") > body.index("</main>")
    version = re.search(r'name="version" value="([^"]+)"', body).group(1)
    chosen = client.post("/privacy/consent", urlencode({"method": "reject_all", "version": version}),
                         content_type="application/x-www-form-urlencoded",
                         headers={"Origin": BASE, "Referer": BASE + "/signup"})
    assert chosen.status_code == 303 and chosen["Location"] == BASE + "/signup"
    assert "<noscript" not in client.get("/signup").content.decode()


def test_manage_check_is_clean_and_migrate_upgrades_the_sdk_tables(sp):
    from django.core.management import call_command

    call_command("check")  # raises SystemCheckError on any error-level finding
    assert "shopprivacy: the sp_ tables are up to date" in manage("migrate", "--verbosity", "1")
    assert "demo customer" in manage("seed_demo")
    assert "demo customer" in manage("seed_demo")  # idempotent: the account exists
    assert len(_raw_customers()) == 1


def test_the_shops_own_faults_are_500_pages_that_reveal_nothing(client, sp, monkeypatch):
    from django.test import Client

    from shopprivacy.errors import DatabaseUnavailable

    sign_up(client)

    def down(*args, **kwargs):
        raise DatabaseUnavailable("cannot reach the database postgresql://shop:secret@db/shop")

    monkeypatch.setattr(newsletter, "request", down)
    quiet = Client(enforce_csrf_checks=True, raise_request_exception=False)
    quiet.cookies = client.cookies
    resp = quiet.post("/account/newsletter", {"csrfmiddlewaretoken": csrf(client, "/account")})
    body = resp.content.decode()
    assert resp.status_code == 500 and "Something went wrong" in body
    assert "secret" not in body and "postgresql" not in body and "Traceback" not in body


def test_a_deleted_account_leaves_no_personal_bytes_in_the_database(client, sp):
    """Every personal field is a token (the first name too); on SQLite (secure_delete on), after the deletion
    neither the values nor their tokens and blind index are left in shop.db or shop.db-wal."""
    profile = dict(RARE_PROFILE)
    assert sign_up(client, **profile).status_code == 302
    assert "Hello Zephyrine" in client.get("/account").content.decode()
    [row] = _raw_customers()
    raw = " ".join(str(v) for v in row).encode()
    assert not [v for v in personal_bytes(profile.values()) if v in raw]
    with connection.cursor() as cursor:
        cursor.execute("SELECT email_bidx, email, first_name, phone, address FROM store_customer")
        traces = [str(v).encode() for v in cursor.fetchone()]  # the blind index and four tokens
    assert all(t.startswith(b"spf") for t in traces[1:])
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete")
            assert cursor.fetchone()[0] == 1
        held = b"".join(sqlite_files(connection.settings_dict["NAME"]).values())
        assert all(t in held for t in traces) and not [v for v in personal_bytes(profile.values()) if v in held]

    resp = client.post("/account/delete", {"csrfmiddlewaretoken": csrf(client, "/account"),
                                           "password": "correct horse battery"})
    assert resp.status_code == 200 and _raw_customers() == []
    if sqlite:
        for name, data in sqlite_files(connection.settings_dict["NAME"]).items():
            assert not [v for v in personal_bytes(profile.values()) if v in data], name
            assert not [t for t in traces if t in data], name


def test_the_migration_encrypts_first_names_stored_in_plaintext(client, sp):
    import importlib

    from examples.django_shop.store.models import Customer

    migration = importlib.import_module("examples.django_shop.store.migrations.0002_encrypt_first_name")
    sign_up(client)
    with connection.cursor() as cursor:  # as the first version of the shop stored it
        cursor.execute("UPDATE store_customer SET first_name = %s", ["Jane"])
    migration.encrypt_plain_names(None, type("SchemaEditor", (), {"connection": connection})())
    [row] = _raw_customers()
    assert "Jane" not in " ".join(str(v) for v in row)
    assert Customer.objects.get().first_name == "Jane"


def test_the_shop_serves_its_generated_notice_and_cookie_table_and_its_declaration_has_no_drift(client, sp):
    notice = client.get("/privacy/notice", HTTP_ACCEPT_LANGUAGE="fr")
    body = notice.content.decode()
    assert notice.status_code == 200 and "Django Example Shop" in body and "Données de compte" in body
    cookies = client.get("/privacy/cookies").content.decode()
    assert "<td>sessionid</td>" in cookies and "<td>csrftoken</td>" in cookies
    assert sp.declaration.drift(sources=sp.rights.sources()) == []
