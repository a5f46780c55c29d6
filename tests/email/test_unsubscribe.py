from email.message import EmailMessage
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shopprivacy import ShopPrivacy
from shopprivacy.email.tables import consent_events, suppressions
from shopprivacy.errors import BadToken, SuppressedRecipient
from shopprivacy.store.schema import outbox
from shopprivacy.testing import respond
from shopprivacy.web import Request

from .conftest import equivalent, post, token_of


def count(sp, table):
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_headers_follow_rfc_8058_and_carry_no_address(esp):
    h = esp.email.headers("Jane@Example.com", "newsletter")
    assert h["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = h["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://shop.example/privacy/unsubscribe?t=")
    assert "jane" not in unquote(url).lower() and "example.com" not in unquote(url)


def test_get_never_unsubscribes_post_one_click_does(esp):
    token = token_of(esp.email.unsubscribe_url("jane@example.com", "newsletter"))
    pages = esp.email_web
    for _ in range(3):  # mail scanners prefetch
        resp = pages.unsubscribe(Request("GET", "/privacy/unsubscribe", query={"t": token}))
        assert resp.status == 200 and b"<form method=\"post\"" in resp.body
    assert not esp.email.is_suppressed("jane@example.com", "newsletter")
    resp = pages.unsubscribe(post("/privacy/unsubscribe", token, b"List-Unsubscribe=One-Click"))
    assert resp.status == 200
    assert esp.email.is_suppressed("JANE@example.com ", "newsletter")
    assert not esp.email.is_suppressed("jane@example.com", "offers")
    # idempotent: repeated POSTs answer 200 and write nothing more
    events, rows = count(esp, consent_events), count(esp, outbox)
    for _ in range(3):
        assert pages.unsubscribe(post("/privacy/unsubscribe", token, b"List-Unsubscribe=One-Click")).status == 200
    assert (count(esp, consent_events), count(esp, outbox)) == (events, rows)
    assert [e.action for e in esp.audit.entries()] == ["proof.recorded", "email.unsubscribed"]


def test_one_click_multipart_body_without_cookies(esp):
    token = token_of(esp.email.unsubscribe_url("jane@example.com", "*"))
    body = (b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n")
    resp = esp.email_web.unsubscribe(post("/privacy/unsubscribe", token, body, "multipart/form-data; boundary=b"))
    assert resp.status == 200
    assert all(esp.email.is_suppressed("jane@example.com", lid) for lid in ("newsletter", "offers"))
    assert esp.email.is_suppressed("jane@example.com")


def test_unsubscribe_is_durable_before_the_response(esp):
    token = token_of(esp.email.unsubscribe_url("jane@example.com", "newsletter"))
    esp.email_web.unsubscribe(post("/privacy/unsubscribe", token, b"List-Unsubscribe=One-Click"))
    from shopprivacy.store import Store

    other = Store.from_url(esp.settings.database_url)  # a second connection sees it committed
    with other.begin(write=False) as conn:
        assert conn.execute(select(func.count()).select_from(suppressions)).scalar_one() == 1
    other.dispose()


def test_bad_tokens_get_400_and_change_nothing(esp, settings, store):
    good = token_of(esp.email.unsubscribe_url("jane@example.com", "newsletter"))
    confirm = token_of(esp.email.request_opt_in("x@example.com", "newsletter", source="t", consent_text_version="v1"))
    from shopprivacy import Keyring, Keyset, ShopPrivacy

    foreign = ShopPrivacy(esp.settings, store=store, keyring=Keyring(Keyset.generate()))
    foreign_token = token_of(foreign.email.unsubscribe_url("jane@example.com", "newsletter"))
    before = count(esp, consent_events)
    for bad in (good[:-2] + "xx", "", "a" * 3000, confirm, foreign_token, good.replace(".", "", 1)):
        resp = esp.email_web.unsubscribe(post("/privacy/unsubscribe", bad, b"List-Unsubscribe=One-Click"))
        assert resp.status == 400, bad
        assert b"<html" in resp.body
    assert count(esp, consent_events) == before
    assert count(esp, suppressions) == 0


def test_expired_link_offers_a_fresh_one(short_lived, monkeypatch):
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3 * 86400)  # the mail was sent three days ago
    token = token_of(short_lived.email.unsubscribe_url("jane@example.com", "newsletter"))
    monkeypatch.setattr(time, "time", real)
    resp = short_lived.email_web.unsubscribe(post("/privacy/unsubscribe", token, b"List-Unsubscribe=One-Click"))
    assert resp.status == 400 and b"expired" in resp.body
    assert not short_lived.email.is_suppressed("jane@example.com", "newsletter")
    fresh = resp.body.decode().split("?t=", 1)[1].split('"', 1)[0]
    assert fresh != token
    ok = short_lived.email_web.unsubscribe(post("/privacy/unsubscribe", fresh, b""))
    assert ok.status == 200
    assert short_lived.email.is_suppressed("jane@example.com", "newsletter")


@pytest.fixture
def short_lived(esp):
    return with_email(esp, unsubscribe_max_age_days=1)


def with_email(sp, **update):
    """A facade on the same store, keys and clock whose e-mail settings differ by ``update`` (not closed: the
    store is ``sp``'s)."""
    email = sp.settings.email.model_copy(update=update)
    return ShopPrivacy(sp.settings.model_copy(update={"email": email}), store=sp.store, keyring=sp.keyring,
                       clock=sp.clock)


def test_unknown_list_is_404(esp):
    token = token_of(esp.email.unsubscribe_url("jane@example.com", "offers"))
    fewer = with_email(esp, lists={"newsletter": esp.email.settings.lists["newsletter"]})
    resp = fewer.email_web.unsubscribe(Request("GET", "/privacy/unsubscribe", query={"t": token}))
    assert resp.status == 404


def test_localized_pages(esp):
    token = token_of(esp.email.unsubscribe_url("jane@example.com", "newsletter"))
    fr = esp.email_web.unsubscribe(Request("GET", "/privacy/unsubscribe", query={"t": token},
                                           headers={"Accept-Language": "fr-CH, fr;q=0.9"}))
    assert "Lettre d’information".encode() in fr.body and b'lang="fr"' in fr.body
    ar = esp.email_web.unsubscribe(Request("GET", "/privacy/unsubscribe", query={"t": token, "lang": "ar"}))
    assert b'dir="rtl"' in ar.body


def test_guard_and_prepare(esp):
    for lid in ("newsletter", "offers"):
        esp.email.opt_in.record("jane@example.com", lid, source="checkout", consent_text_version="v1")
    msg = EmailMessage()
    msg["To"] = "Jane <jane@example.com>"
    msg["Subject"] = "News"
    esp.email.prepare(msg, "newsletter")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    msg.set_content("hello")
    wire = msg.as_bytes()  # what smtplib.send_message writes: the message's own policy
    assert b"=?utf-8?" not in wire  # never RFC 2047-encoded, which mailbox providers would not parse
    line = next(x for x in wire.split(b"\n") if x.startswith(b"List-Unsubscribe: "))
    assert line.rstrip(b"\r").endswith(b">") and b"https://" in line and b"?t=" in line
    esp.email.unsubscribe_address("jane@example.com", "newsletter")
    with pytest.raises(SuppressedRecipient):
        esp.email.guard("jane@example.com", "newsletter")
    esp.email.guard("jane@example.com", "offers")
    receipt = EmailMessage()
    receipt["To"] = "jane@example.com"
    esp.email.prepare(receipt, "receipts")  # transactional mail is never blocked
    assert receipt["List-Unsubscribe"] is None
    esp.email.suppress("jane@example.com")  # all lists (a complaint)
    esp.email.guard("jane@example.com", "receipts")
    with pytest.raises(SuppressedRecipient):
        esp.email.guard("jane@example.com", "offers")


def test_unsubscribe_propagates_to_the_platform_through_the_outbox(esp):
    shop = esp.adapter
    cid = shop.add_customer("jane@example.com")
    token = token_of(esp.email.unsubscribe_url("jane@example.com", "newsletter"))
    esp.email.suppression.unsubscribe(token)
    assert shop.customer(cid)["marketing_state"] == "not_subscribed"  # nothing sent to the platform yet
    report = esp.run_due()
    assert report.outbox.delivered == 1
    assert shop.customer(cid)["marketing_state"] == "unsubscribed"


def test_suppression_survives_erasure(esp):
    esp.email.unsubscribe_address("jane@example.com", "newsletter")
    subject = esp.email.subjects.subject_of("jane@example.com")
    with esp.store.begin() as conn:
        esp.email.subjects.forget(conn, subject)
    esp.fields.shred(subject)
    assert esp.email.is_suppressed("jane@example.com", "newsletter")
    esp.run_due()  # propagation of an erased subject does not fail


@hsettings(max_examples=60)
@given(token=st.text(max_size=200), body=st.binary(max_size=200), ctype=st.sampled_from(
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""]),
    method=st.sampled_from(["GET", "POST"]))
def test_random_requests_never_500_nor_write(esp, token, body, ctype, method):
    resp = respond(esp, Request(method, "/privacy/unsubscribe", query={"t": token},
                                headers={"Content-Type": ctype}, body=body))
    assert resp.status in (200, 400, 404)
    assert count(esp, suppressions) == 0


@hsettings(max_examples=60)
@given(st.data())
def test_mutated_tokens_are_rejected(esp, data):
    token = token_of(esp.email.unsubscribe_url("jane@example.com", "newsletter"))
    pos = data.draw(st.integers(0, len(token) - 1))
    ch = data.draw(st.sampled_from("ABCxyz019-_."))
    mutated = token[:pos] + ch + token[pos + 1:]
    if equivalent(mutated, token):  # the same bytes spelled differently (unused bits of a base64 character)
        return
    try:
        esp.email.suppression.read_unsubscribe(mutated)
    except BadToken:
        return
    raise AssertionError("a mutated token was accepted")
