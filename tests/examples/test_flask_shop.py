"""The example Flask shop end to end with Flask's test client, on the ``db_url`` store."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from examples.flask_shop.db import customers
from examples.shop_common import newsletter
from sqlalchemy import func, select

from shopprivacy import Keyset
from shopprivacy.platforms.local import customers as platform_customers

from .conftest import (
    BASE,
    RARE_PROFILE,
    close_app,
    csrf,
    link_in,
    log_in,
    mails,
    make_app,
    personal_bytes,
    sign_up,
    sqlite_files,
)

pytestmark = pytest.mark.db

EMAIL = "jane@example.com"


def test_sign_up_stores_the_account_encrypted_and_logs_in_by_blind_index(app, client, shop, sp):
    resp = sign_up(client, email="  Jane@Example.com ")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account")
    with shop.engine.connect() as conn:
        row = conn.execute(select(customers)).one()
    raw = " ".join(str(v) for v in row._mapping.values())
    assert "jane@example.com" not in raw.lower() and "Lilas" not in raw and "34 56" not in raw
    assert row.email_bidx == sp.fields.blind_index(EMAIL, kind="email")
    assert row.password_hash.startswith("scrypt:")
    # a token copied to another row does not decrypt
    with pytest.raises(Exception, match="does not decrypt"):
        sp.fields.decrypt(row.email, context="shop_customers.email", row="cu_other")
    page = client.get("/account").get_data(as_text=True)
    assert "Jane@Example.com" in page and "12 rue des Lilas" in page

    fresh = app.test_client()
    assert log_in(fresh, "JANE@example.COM").status_code == 302  # the blind index normalises the address
    assert fresh.get("/account").status_code == 200
    assert log_in(app.test_client(), EMAIL, "wrong password").status_code == 401
    assert log_in(app.test_client(), "nobody@example.com").status_code == 401
    again = sign_up(app.test_client())
    assert again.status_code == 400 and "exists" in again.get_data(as_text=True)
    with shop.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customers)).scalar_one() == 1


def test_bad_sign_up_input_is_a_400_page_and_writes_nothing(client, shop):
    assert sign_up(client, email="not-an-address").status_code == 400
    assert sign_up(client, password="short").status_code == 400
    assert sign_up(client, address="x" * 501).status_code == 400
    with shop.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customers)).scalar_one() == 0


def test_newsletter_double_opt_in_through_the_mail_folder(client, shop, sp):
    sign_up(client, newsletter="yes")
    assert newsletter.state(sp, EMAIL) == "pending"
    [optin] = mails(shop, "optin")
    assert optin["To"] == EMAIL
    link = link_in(optin, "/privacy/email/confirm")
    anonymous = client.application.test_client(use_cookies=False)
    assert anonymous.get(link).status_code == 200  # a prefetch (mail scanner) confirms nothing
    assert newsletter.state(sp, EMAIL) == "pending"
    assert anonymous.post(link).status_code == 200
    assert newsletter.state(sp, EMAIL) == "subscribed"
    assert "You get the newsletter" in client.get("/account").get_data(as_text=True)
    assert "opt_in_confirmed" in [e["action"] for e in sp.email.subjects.history(EMAIL)]


def test_opt_in_from_the_account_page(client, shop, sp):
    sign_up(client)
    assert newsletter.state(sp, EMAIL) == "not_subscribed" and mails(shop, "optin") == []
    resp = client.post("/account/newsletter", data={"csrf_token": csrf(client, "/account")})
    assert resp.status_code == 302 and len(mails(shop, "optin")) == 1
    for _ in range(3):  # the SDK's re-send limit (3 per day) answers 429, never 500
        last = client.post("/account/newsletter", data={"csrf_token": csrf(client, "/account")})
    assert last.status_code == 429 and len(mails(shop, "optin")) == 3


def _subscribe(client, shop):
    sign_up(client, newsletter="yes")
    link = link_in(mails(shop, "optin")[-1], "/privacy/email/confirm")
    assert client.post(link).status_code == 200


def test_newsletter_carries_list_unsubscribe_and_one_click_suppresses(app, client, shop, sp):
    _subscribe(client, shop)
    sign_up(app.test_client(), email="bob@example.com")  # not subscribed: gets no newsletter
    result = app.test_cli_runner().invoke(args=["send-newsletter", "--subject", "November"])
    assert result.exit_code == 0 and "1 newsletter" in result.output
    [letter] = mails(shop, "newsletter")
    assert letter["To"] == EMAIL and letter["Subject"] == "November"
    assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<([^>]+)>", letter["List-Unsubscribe"]).group(1)
    assert url.startswith(BASE + "/privacy/unsubscribe?t=")
    path = url[len(BASE):]

    mailbox_provider = app.test_client(use_cookies=False)
    assert mailbox_provider.get(path).status_code == 200 and not sp.email.is_suppressed(EMAIL, "newsletter")
    resp = mailbox_provider.post(path, data="List-Unsubscribe=One-Click",
                                 content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200
    assert sp.email.is_suppressed(EMAIL, "newsletter") and newsletter.state(sp, EMAIL) == "unsubscribed"
    assert mailbox_provider.post(path, data="List-Unsubscribe=One-Click",
                                 content_type="application/x-www-form-urlencoded").status_code == 200  # idempotent
    result = app.test_cli_runner().invoke(args=["send-newsletter"])
    assert "0 newsletter" in result.output and len(mails(shop, "newsletter")) == 1


def run_due(app) -> None:
    result = app.test_cli_runner().invoke(args=["shopprivacy", "run-due"])
    assert result.exit_code == 0, result.output


def test_portal_export_is_verified_by_mail_and_downloads_the_account_data(app, client, shop, sp):
    sign_up(client)
    portal = app.test_client()
    page = portal.get("/privacy/rights")
    assert page.status_code == 200
    csp_nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{csp_nonce}">' in page.get_data(as_text=True)  # the SDK's page gets the shop's nonce
    resp = portal.post("/privacy/rights", data={"action": "export", "email": EMAIL}, headers={"Origin": BASE})
    assert resp.status_code == 200
    assert portal.post("/privacy/rights", data={"action": "export", "email": EMAIL}).status_code == 403  # no Origin

    run_due(app)  # `flask shopprivacy run-due`, as cron runs it: on the app's facade, with its sources
    [verify] = mails(shop, "rights-verify")
    assert verify["To"] == EMAIL
    link = link_in(verify, "/privacy/rights/verify")
    assert portal.get(link).status_code == 200
    assert portal.post(link).status_code == 200
    run_due(app)  # `flask shopprivacy run-due`, as cron runs it: on the app's facade, with its sources
    [ready] = mails(shop, "rights-export_ready")
    download = link_in(ready, "/privacy/rights/download")
    assert portal.get(download).status_code == 200
    resp = portal.post(download)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.data)) as archive:
        data = json.loads(archive.read("data.json"))
    [row] = data["sources"]["shop_customers"]["rows"]
    assert row["email"] == EMAIL and row["phone"] == "+33 6 12 34 56 78" and row["address"].startswith("12 rue")
    assert portal.post(download).status_code == 410  # downloadable once


def test_a_strangers_correction_form_and_one_careless_click_do_not_move_the_account(app, client, shop, sp):
    sign_up(client)
    stranger, victim, stranger_address = app.test_client(), app.test_client(), "mallory@example.net"
    resp = stranger.post("/privacy/rights", data={"action": "rectify", "email": EMAIL, "new_email": stranger_address},
                         headers={"Origin": BASE})
    assert resp.status_code == 200
    run_due(app)
    [verify] = mails(shop, "rights-verify")
    assert verify["To"] == EMAIL and "j***@e******.com -> m***@e******.net" in verify.get_content()
    assert "mallory" not in verify.get_content()
    link = link_in(verify, "/privacy/rights/verify")
    page = victim.get(link).get_data(as_text=True)
    assert "m***@e******.net" in page and "mallory" not in page and "Confirm only if you asked" in page
    assert victim.post(link).status_code == 200  # the victim clicks
    run_due(app)

    assert log_in(app.test_client(), EMAIL).status_code == 302  # the account still answers to its owner
    [new] = mails(shop, "rights-verify_new")
    assert new["To"] == stranger_address  # the stranger's export of "their" data holds nothing of Jane:
    assert stranger.post("/privacy/rights", data={"action": "export", "email": stranger_address},
                         headers={"Origin": BASE}).status_code == 200
    run_due(app)
    [mine] = [m for m in mails(shop, "rights-verify") if m["To"] == stranger_address]
    assert stranger.post(link_in(mine, "/privacy/rights/verify")).status_code == 200
    run_due(app)
    [ready] = mails(shop, "rights-export_ready")
    with zipfile.ZipFile(io.BytesIO(stranger.post(link_in(ready, "/privacy/rights/download")).data)) as archive:
        data = json.loads(archive.read("data.json"))
    assert "shop_customers" not in data["sources"] and "Lilas" not in json.dumps(data)


def test_delete_account_gives_a_receipt_and_keeps_the_address_suppressed(app, client, shop, sp):
    _subscribe(client, shop)
    client.post("/subscribe/coffee-club", data={"csrf_token": csrf(client)})
    pid = shop.accounts.get(shop.accounts.ids()[0]).platform_customer_id
    assert pid is not None

    wrong = client.post("/account/delete", data={"csrf_token": csrf(client, "/account"), "password": "nope"})
    assert wrong.status_code == 303 and len(shop.accounts.ids()) == 1
    resp = client.post("/account/delete", data={"csrf_token": csrf(client, "/account"),
                                                "password": "correct horse battery"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Your account is deleted" in html and "shop_customers" in html and "crypto-shredded" in html
    assert "My account" not in html and ">Log in<" in html  # the receipt page is already signed out
    with shop.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customers)).scalar_one() == 0
    assert client.get("/account").status_code == 302  # signed out
    assert log_in(app.test_client()).status_code == 401
    assert sp.email.is_suppressed(EMAIL)  # every list, also after erasure
    sp.run_due()  # the platform's copy is erased through the outbox
    with shop.platform.engine.connect() as conn:
        email = conn.execute(select(platform_customers.c.email).where(platform_customers.c.id == pid)).scalar_one()
    assert email != EMAIL
    request_id = re.search(r"<code>([^<]+)</code>", html).group(1)
    assert sp.rights.get(request_id).state == "done"


def test_renewal_command_bills_once_per_period(app, client, shop, sp):
    sign_up(client)
    assert client.post("/subscribe/coffee-club", data={"csrf_token": csrf(client)}).status_code == 302
    assert client.post("/subscribe/beans-250", data={"csrf_token": csrf(client)}).status_code == 404  # not a plan
    again = client.post("/subscribe/coffee-club", data={"csrf_token": csrf(client)}, follow_redirects=True)
    assert "You already subscribe" in again.get_data(as_text=True)  # a second click subscribes nobody twice
    assert shop.platform.billing_count() == 1  # the first month, at purchase

    def renew(days: int):
        until = (sp.clock() + timedelta(days=days)).isoformat()
        result = app.test_cli_runner().invoke(args=["renew", "--until", until])
        assert result.exit_code == 0, result.output
        return result.output

    assert "nothing due" in renew(1)
    assert "billed 1" in renew(32)
    assert "billed 1" not in renew(32)  # the same period is never billed twice
    assert shop.platform.billing_count() == 2
    assert "billed 1" in renew(63)
    assert shop.platform.billing_count() == 3
    bad = app.test_cli_runner().invoke(args=["renew", "--until", "next tuesday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_bad_links_show_localized_pages_never_a_stack_trace(client):
    for path in ("/privacy/unsubscribe?t=forged", "/privacy/email/confirm?t=forged",
                 "/privacy/rights/verify?t=forged", "/privacy/rights/download?t=forged"):
        resp = client.get(path, headers={"Accept-Language": "fr"})
        body = resp.get_data(as_text=True)
        assert 400 <= resp.status_code < 500 and 'lang="fr"' in body and "Traceback" not in body
        assert client.post(path).status_code < 500
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    assert client.post("/login", data={"email": EMAIL, "password": "x"}).status_code == 400  # no CSRF token
    assert client.get("/account").status_code == 302
    assert client.post("/subscribe/coffee-club").status_code == 400


def test_rectifying_the_email_moves_the_login_and_keeps_the_customer_key(app, client, shop, sp):
    from shopprivacy.errors import ShreddedError

    sign_up(client)
    new = "jane.doe@example.org"
    req = sp.rights.open("rectify", {"email": EMAIL}, channel="account", verified_by="shop-login",
                         changes={"email": "Jane.Doe@Example.org", "phone": "+33 7 11 22 33 44",
                                  "address": "3 place Bellecour, 69002 Lyon"})
    assert sp.rights.process(req.id).state == "awaiting_new"  # the new address is confirmed from itself first
    assert log_in(app.test_client(), EMAIL).status_code == 302 and log_in(app.test_client(), new).status_code == 401
    run_due(app)
    [mail] = mails(shop, "rights-verify_new")
    assert mail["To"] == new and "j***@e******.com -> j***@e******.org" in mail.get_content()
    link = link_in(mail, "/privacy/rights/verify-new")
    mailbox_owner = app.test_client()
    assert mailbox_owner.get(link).status_code == 200 and log_in(app.test_client(), new).status_code == 401
    assert mailbox_owner.post(link).status_code == 200
    assert mailbox_owner.post(link).status_code == 410  # single use
    assert sp.rights.process(req.id).state == "done"
    run_due(app)
    [told] = mails(shop, "rights-identifier_changed")  # the previous address is told, the new one masked
    assert told["To"] == EMAIL and "j***@e******.org" in told.get_content() and new not in told.get_content()
    [source] = [s for s in sp.rights.receipt(req.id).sources if s.source == "shop_customers"]
    assert {f.field: (f.outcome, f.rows) for f in source.fields} == {
        c: ("corrected", 1) for c in ("email", "email_bidx", "phone", "address")}

    assert log_in(app.test_client(), EMAIL).status_code == 401  # the old address no longer finds the account
    fresh = app.test_client()
    assert log_in(fresh, new).status_code == 302
    page = fresh.get("/account").get_data(as_text=True)
    assert new in page and "+33711223344" in page and "3 place Bellecour" in page and EMAIL not in page
    with shop.engine.connect() as conn:
        row = conn.execute(select(customers)).one()
    assert row.email_bidx == sp.fields.blind_index(new, kind="email")
    assert new not in " ".join(str(v) for v in row._mapping.values())

    # the corrected tokens are under the customer's own key: deleting the account shreds them, copies included
    resp = fresh.post("/account/delete", data={"csrf_token": csrf(fresh, "/account"),
                                               "password": "correct horse battery"})
    assert resp.status_code == 200 and "crypto-shredded" in resp.get_data(as_text=True)
    for column in ("email", "phone", "address"):
        with pytest.raises(ShreddedError):
            sp.fields.decrypt(getattr(row, column), context=f"shop_customers.{column}", row=row.id)


def test_the_shops_own_faults_are_500_pages_that_reveal_nothing(app, client, monkeypatch):
    from shopprivacy.errors import DatabaseUnavailable

    sign_up(client)

    def down(*args, **kwargs):
        raise DatabaseUnavailable("cannot reach the database postgresql://shop:secret@db/shop")

    monkeypatch.setattr(newsletter, "request", down)
    resp = client.post("/account/newsletter", data={"csrf_token": csrf(client, "/account")})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500 and "Something went wrong" in body
    assert "secret" not in body and "postgresql" not in body and "Traceback" not in body


def test_a_deleted_account_leaves_no_personal_bytes_in_the_sqlite_files(tmp_path, db_url):
    """Every personal field is a token (the first name too), and after the deletion neither the values nor
    their tokens and blind index are left in shop.db or shop.db-wal (secure_delete, then the WAL emptied)."""
    shop_db = tmp_path / "own" / "shop.db"
    shop_db.parent.mkdir()
    app = make_app(tmp_path, db_url, shop_url=f"sqlite:///{shop_db}")
    try:
        shop, client = app.extensions["flask_shop"], app.test_client()
        profile = dict(RARE_PROFILE)
        assert sign_up(client, **profile).status_code == 302
        assert "Hello Zephyrine" in client.get("/account").get_data(as_text=True)
        with shop.engine.connect() as conn:
            row = conn.execute(select(customers)).one()
        traces = [row.email_bidx.encode()] + [getattr(row, c).encode() for c in ("email", "first_name", "phone",
                                                                                "address")]
        with shop.engine.connect() as conn:  # as SQLite's automatic checkpoints do: the account is in shop.db
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        held = sqlite_files(shop_db)["shop.db"]
        assert all(v not in held for v in personal_bytes(profile.values()))
        assert all(t in held for t in traces)  # the account is there, as tokens and its blind index

        resp = client.post("/account/delete", data={"csrf_token": csrf(client, "/account"),
                                                    "password": "correct horse battery"})
        assert resp.status_code == 200 and shop.accounts.ids() == []
        for name, data in sqlite_files(shop_db).items():
            assert not [v for v in personal_bytes(profile.values()) if v in data], name
            assert not [t for t in traces if t in data], name
    finally:
        close_app(app)


def test_first_names_stored_in_plaintext_before_are_encrypted_at_start(app, client, shop, sp):
    sign_up(client)
    [cid] = shop.accounts.ids()
    with shop.engine.begin() as conn:  # as the previous version of the shop stored it
        conn.execute(customers.update().values(first_name="Jane"))
    assert shop.accounts.encrypt_plain_names() == 1
    assert shop.accounts.encrypt_plain_names() == 0
    with shop.engine.connect() as conn:
        stored = conn.execute(select(customers.c.first_name)).scalar_one()
    assert stored != "Jane" and shop.accounts.get(cid).first_name == "Jane"
    sp.fields.shred(cid)  # under the customer's own key, like the other fields
    with pytest.raises(Exception, match="shredded"):
        sp.fields.decrypt(stored, context="shop_customers.first_name", row=cid)


def test_sign_up_with_the_texts_box_records_the_sms_opt_in(app, client, shop, sp):
    from examples.shop_common import texting

    page = client.get("/signup").get_data(as_text=True)
    assert texting.WORDING in page
    resp = sign_up(client, texts="yes")
    assert resp.status_code == 302
    assert sp.sms.state("+33612345678", "marketing") == "subscribed"
    (proof,) = sp.sms.history("+33 6 12 34 56 78")
    assert proof["source"] == "signup-form" and proof["text_version"] == sp.sms.wording_digest(texting.WORDING)
    assert "You get our offers by text message" in client.get("/account").get_data(as_text=True)
    sp.sms.opt_out("+33612345678")  # as a STOP through the webhook does
    assert "You opted out of text messages" in client.get("/account").get_data(as_text=True)
    resp = client.post("/account/delete", data={"csrf_token": csrf(client, "/account"),
                                                "password": "correct horse battery"})
    assert resp.status_code == 200 and "shopprivacy-sms" in resp.get_data(as_text=True)
    assert sp.sms.is_suppressed("+33612345678") and not sp.sms.erase("+33612345678")  # already erased


def test_a_bad_number_with_the_texts_box_creates_no_account(app, client, shop, sp):
    resp = sign_up(client, texts="yes", phone="12")
    assert resp.status_code == 400 and "phone number" in resp.get_data(as_text=True)
    with shop.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customers)).scalar_one() == 0
    assert sign_up(client, phone="12").status_code == 302  # without the box the number is not checked
    assert "You do not get text messages" in client.get("/account").get_data(as_text=True)


def test_the_shop_serves_its_generated_notice_and_cookie_table_and_its_declaration_has_no_drift(client, sp):
    notice = client.get("/privacy/notice", headers={"Accept-Language": "de"})
    body = notice.get_data(as_text=True)
    assert notice.status_code == 200 and "Flask Example Shop" in body and "Kontodaten" in body
    cookies = client.get("/privacy/cookies").get_data(as_text=True)
    assert "<td>session</td>" in cookies and "<td>sp_consent</td>" in cookies
    assert sp.declaration.drift(sources=sp.rights.sources()) == []


def test_a_material_change_of_the_shops_declaration_is_mailed_to_its_customers(tmp_path, db_url):
    import shutil
    from pathlib import Path

    import examples.flask_shop

    mine = tmp_path / "declaration.toml"  # the shop's own copy: the shipped declaration stays as it is
    shutil.copy(Path(examples.flask_shop.__file__).with_name("declaration.toml"), mine)
    config = {"SHOPPRIVACY_DECLARATION": {"file": str(mine)}, "SHOPPRIVACY_KEYSET": Keyset.generate().to_json()}
    app = make_app(tmp_path, db_url, **config)
    try:
        sp = app.extensions["shopprivacy"]
        sp.email.unsubscribe_address(EMAIL, "newsletter")  # an address on file, even one that opted out: told too
        assert sp.declaration.publish().new
    finally:
        close_app(app)
    mine.write_text(mine.read_text() + '\n[processors.crm]\nname = "Tiny CRM"\ncountry = "DE"\n'
                    'purposes = ["account"]\ndata = ["account"]\ntransfer = "eea"\ncontract_date = 2026-11-01\n')
    app = make_app(tmp_path, db_url, **config)  # the shop starts again with its edited declaration
    try:
        sp = app.extensions["shopprivacy"]
        assert sp.declaration.publish().changes == ("processor:crm",)
        sp.run_due()
        [mail] = mails(app.extensions["flask_shop"], "privacy-notice-changed")
        assert "Tiny CRM" in mail.get_content() and "/privacy/notice" in mail.get_content()
    finally:
        close_app(app)
