"""The e-mail pages of shopprivacy.email.pages: confirmation and preference-centre links that cannot be
used get a localized 400 page (never a Confirm button, nothing written) and, when authentic but expired, an
offer to mail a fresh link within the re-send limit."""

import time

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shopprivacy import Keyring, Keyset, ShopPrivacy
from shopprivacy.email import LinkMail
from shopprivacy.email.tables import consent_events, email_subjects, pending_opt_ins, subscriptions, suppressions
from shopprivacy.errors import RateLimited
from shopprivacy.store.schema import audit_log, outbox
from shopprivacy.testing import respond
from shopprivacy.web import Request

from ..email.conftest import LISTS, equivalent, esp, post, token_of  # noqa: F401 - esp is a fixture

CONFIRM, PREFS = "/privacy/email/confirm", "/privacy/email/preferences"
TABLES = (consent_events, email_subjects, subscriptions, suppressions, outbox, audit_log)


@pytest.fixture
def mailed(esp):
    """The link mails the shop's sender delivered."""
    out: list[LinkMail] = []
    esp.email.set_sender(out.append)
    return out


def snapshot(sp):
    """Row counts of every table e-mail consent writes, and the pending requests' send counters."""
    with sp.store.begin(write=False) as conn:
        counts = [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES]
        sends = conn.execute(select(pending_opt_ins.c.id, pending_opt_ins.c.sends, pending_opt_ins.c.expires_at,
                                    pending_opt_ins.c.confirmed_at).order_by(pending_opt_ins.c.id)).all()
    return counts, [tuple(r) for r in sends]


def get(path, token, **query):
    return Request("GET", path, query={"t": token, **query})


def text(resp):
    return resp.body.decode()


def request(sp, address="jane@example.com", list_id="newsletter"):
    return token_of(sp.email.request_opt_in(address, list_id, source="form", consent_text_version="v1"))


# -- confirmation links ---------------------------------------------------------------------------------------
def test_valid_confirmation_get_names_the_list_and_writes_nothing(esp):
    token = request(esp)
    before = snapshot(esp)
    resp = esp.email_web.confirm(get(CONFIRM, token, lang="fr"))
    assert resp.status == 200 and "Lettre d’information" in text(resp) and 'method="post"' in text(resp)
    assert snapshot(esp) == before


def test_tampered_confirmation_get_is_a_localized_400_without_a_confirm_button(esp, store):
    token = request(esp)
    foreign = ShopPrivacy(esp.settings, store=store, keyring=Keyring(Keyset.generate()))
    bad_tokens = [token[:-3] + ("xyz" if token[-3:] != "xyz" else "abc"), "", "a" * 3000, token.replace(".", "", 1),
                  token_of(esp.email.unsubscribe_url("jane@example.com", "newsletter")),  # another purpose
                  token_of(esp.email.preferences_url("jane@example.com")),
                  token_of(foreign.email.request_opt_in("x@example.com", "newsletter", source="f",
                                                        consent_text_version="v1"))]
    before = snapshot(esp)
    for bad in bad_tokens:
        for method in ("GET", "POST"):
            req = get(CONFIRM, bad, lang="de") if method == "GET" else post(CONFIRM, bad, b"")
            resp = esp.email_web.confirm(req)
            assert resp.status == 400, (bad, method)
            body = text(resp)
            assert "<form" not in body  # no Confirm button, and no re-send: the address is unknown
            if method == "GET":
                assert 'lang="de"' in body and "Dieser Link ist ungültig" in body
                assert "melden Sie sich bitte auf unserer Website erneut" in body
    assert snapshot(esp) == before


def test_expired_confirmation_offers_a_fresh_link_by_mail(esp, mailed, clock):
    token = request(esp)
    clock.advance(hours=49)
    before = snapshot(esp)
    resp = esp.email_web.confirm(get(CONFIRM, token))
    body = text(resp)
    assert resp.status == 400 and "This link has expired." in body
    assert 'name="resend" value="1"' in body and "Send me a new link" in body and "Confirm subscription" not in body
    assert esp.email_web.confirm(post(CONFIRM, token, b"")).status == 400  # confirming stays refused
    assert snapshot(esp) == before
    sent = esp.email_web.confirm(post(CONFIRM, token, b"resend=1", remote_addr="198.51.100.2",
                                      headers={"Content-Type": "application/x-www-form-urlencoded",
                                               "Accept-Language": "fr"}))
    assert sent.status == 200 and 'lang="fr"' in text(sent)
    assert mailed == []  # queued in the outbox, mailed by run-due
    esp.run_due()
    assert len(mailed) == 1
    mail = mailed[0]
    assert (mail.kind, mail.to, mail.list_id, mail.locale) == ("confirm", "jane@example.com", "newsletter", "fr")
    assert "jane" not in repr(mail)
    fresh = token_of(mail.link)
    assert esp.email_web.confirm(post(CONFIRM, fresh, b"")).status == 200
    _, states = esp.email.preferences.read(token_of(esp.email.preferences_url("jane@example.com")))
    assert states["newsletter"] == "subscribed"
    actions = [h["action"] for h in esp.email.subjects.history("jane@example.com")]
    assert actions == ["opt_in_requested", "opt_in_resent", "opt_in_confirmed"]


def test_token_past_its_age_also_offers_a_fresh_link(esp, mailed, monkeypatch):
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3 * 86400)  # mailed three days ago
    token = request(esp)
    monkeypatch.setattr(time, "time", real)
    resp = esp.email_web.confirm(get(CONFIRM, token))
    assert resp.status == 400 and 'name="resend"' in text(resp)


def test_without_a_sender_the_page_explains_instead(esp, clock):
    token = request(esp)
    clock.advance(hours=49)
    before = snapshot(esp)
    resp = esp.email_web.confirm(get(CONFIRM, token))
    assert resp.status == 400 and "<form" not in text(resp) and "sign up again" in text(resp)
    forced = esp.email_web.confirm(post(CONFIRM, token, b"resend=1"))
    assert forced.status == 400 and "sign up again" in text(forced)
    assert snapshot(esp) == before


def test_resends_respect_the_rate_limit(esp, mailed, clock):
    token = request(esp)  # 1st mail
    clock.advance(hours=20)  # still within the 24 h re-send window
    for _ in range(2):  # 2nd and 3rd
        assert esp.email_web.confirm(post(CONFIRM, token, b"resend=1")).status == 200
    before = snapshot(esp)
    limited = esp.email_web.confirm(post(CONFIRM, token, b"resend=1"))
    assert limited.status == 429 and "several links" in text(limited)
    assert snapshot(esp) == before
    esp.run_due()
    assert len(mailed) == 2
    # the limit holds across the request form too
    with pytest.raises(RateLimited):
        esp.email.request_opt_in("jane@example.com", "newsletter", source="form", consent_text_version="v1")
    clock.advance(hours=5)  # a new window
    assert esp.email_web.confirm(post(CONFIRM, token, b"resend=1")).status == 200


def test_purged_request_cannot_be_resent(esp, mailed, clock):
    token = request(esp)
    clock.advance(hours=49)
    assert esp.run_due().tasks["email"] == {"expired_opt_ins": 1}
    resp = esp.email_web.confirm(get(CONFIRM, token))
    assert resp.status == 400 and "<form" not in text(resp) and "sign up again" in text(resp)
    gone = esp.email_web.confirm(post(CONFIRM, token, b"resend=1"))
    assert gone.status == 404 and "sign up again" in text(gone)
    esp.run_due()
    assert mailed == []


def test_confirmed_link_resend_sends_nothing(esp, mailed):
    token = request(esp)
    esp.email.confirm_opt_in(token)
    again = esp.email_web.confirm(get(CONFIRM, token))
    assert again.status == 200
    resent = esp.email_web.confirm(post(CONFIRM, token, b"resend=1"))
    assert resent.status == 200 and "Subscription confirmed" in text(resent)
    esp.run_due()
    assert mailed == []


# -- preference-centre links --------------------------------------------------------------------------------
def test_tampered_preferences_link_is_a_localized_400(esp, mailed):
    token = token_of(esp.email.preferences_url("jane@example.com"))
    before = snapshot(esp)
    for bad in (token[:-4] + "AAAA", "", request(esp, "z@example.com")):
        before = snapshot(esp)
        for req in (get(PREFS, bad, lang="es"), post(PREFS, bad, b"all=off"), post(PREFS, bad, b"resend=1")):
            resp = esp.email_web.preferences(req)
            assert resp.status == 400 and "<form" not in text(resp), bad
        assert snapshot(esp) == before


def test_expired_preferences_link_offers_a_fresh_one(esp, mailed, monkeypatch):
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 400 * 86400)  # older than a year
    token = token_of(esp.email.preferences_url("jane@example.com"))
    monkeypatch.setattr(time, "time", real)
    before = snapshot(esp)
    resp = esp.email_web.preferences(get(PREFS, token, lang="nl"))
    assert resp.status == 400 and "Deze link is verlopen." in text(resp) and 'name="resend"' in text(resp)
    assert esp.email_web.preferences(post(PREFS, token, b"all=off")).status == 400
    assert snapshot(esp) == before
    for _ in range(3):
        assert esp.email_web.preferences(post(PREFS, token, b"resend=1")).status == 200
    before = snapshot(esp)
    assert esp.email_web.preferences(post(PREFS, token, b"resend=1")).status == 429
    assert snapshot(esp) == before
    esp.run_due()
    assert [m.kind for m in mailed] == ["preferences"] * 3
    fresh = token_of(mailed[0].link)
    assert esp.email_web.preferences(get(PREFS, fresh)).status == 200


def test_erased_address_gets_no_offer(esp, mailed, monkeypatch):
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 400 * 86400)
    token = token_of(esp.email.preferences_url("jane@example.com"))
    monkeypatch.setattr(time, "time", real)
    with esp.store.begin() as conn:
        esp.email.subjects.forget(conn, esp.email.subjects.subject_of("jane@example.com"))
    resp = esp.email_web.preferences(get(PREFS, token))
    assert resp.status == 400 and "<form" not in text(resp)
    assert esp.email_web.preferences(post(PREFS, token, b"resend=1")).status == 404


# -- property tests -----------------------------------------------------------------------------------------
FORM_FIELDS = st.sampled_from(["resend", "list_newsletter", "list_offers", "list_nope", "all", "pause_days",
                               "List-Unsubscribe"])
FORM_VALUES = st.one_of(st.sampled_from(["1", "on", "off", "30", "0", "-5", "999999999999", "One-Click"]),
                        st.text(max_size=12))
FORMS = st.dictionaries(FORM_FIELDS, FORM_VALUES, max_size=4).map(
    lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode("utf-8", "surrogatepass"))
BODIES = st.one_of(st.binary(max_size=120), FORMS)
CTYPES = st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""])


def mutate(data, token: str) -> str:
    kind = data.draw(st.sampled_from(["replace", "truncate", "insert", "drop"]))
    pos = data.draw(st.integers(0, len(token) - 1))
    if kind == "truncate":
        return token[:pos]
    if kind == "drop":
        return token[:pos] + token[pos + 1:]
    ch = data.draw(st.sampled_from("ABCxyz019-_.=%+/ \x00é"))
    return token[:pos] + ch + token[pos + (kind == "replace"):]


@hsettings(max_examples=60)
@given(data=st.data(), body=BODIES, ctype=CTYPES, method=st.sampled_from(["GET", "POST"]))
def test_mutated_confirmation_tokens_never_500_nor_write(esp, mailed, clock, data, body, ctype, method):
    token = request(esp, "fuzz@example.com")  # the same pending request every time (counter capped by time)
    clock.advance(hours=25)  # keep the re-send window fresh for the next example
    mutated = mutate(data, token)
    if equivalent(mutated, token):
        return
    before = snapshot(esp)
    resp = respond(esp, Request(method, CONFIRM, query={"t": mutated}, headers={"Content-Type": ctype}, body=body))
    assert resp.status == 400, (mutated, body)
    assert b"<form" not in resp.body
    assert snapshot(esp) == before


@hsettings(max_examples=60)
@given(data=st.data(), body=BODIES, ctype=CTYPES, method=st.sampled_from(["GET", "POST"]))
def test_mutated_preference_tokens_never_500_nor_write(esp, mailed, data, body, ctype, method):
    token = token_of(esp.email.preferences_url("fuzz@example.com"))
    mutated = mutate(data, token)
    if equivalent(mutated, token):
        return
    before = snapshot(esp)
    resp = respond(esp, Request(method, PREFS, query={"t": mutated}, headers={"Content-Type": ctype}, body=body))
    assert resp.status == 400, (mutated, body)
    assert snapshot(esp) == before


@hsettings(max_examples=60)
@given(body=BODIES, ctype=CTYPES)
def test_any_body_with_a_valid_preference_token_never_500s(esp, mailed, body, ctype):
    token = token_of(esp.email.preferences_url("fuzz@example.com"))
    resp = respond(esp, Request("POST", PREFS, query={"t": token}, headers={"Content-Type": ctype}, body=body))
    assert resp.status in (200, 400, 429), body


@hsettings(max_examples=60)
@given(body=BODIES, ctype=CTYPES)
def test_any_body_with_a_valid_confirmation_token_never_500s(esp, mailed, clock, body, ctype):
    token = request(esp, "fuzz@example.com")
    clock.advance(hours=25)
    resp = respond(esp, Request("POST", CONFIRM, query={"t": token}, headers={"Content-Type": ctype}, body=body))
    assert resp.status in (200, 400, 429), body


def test_a_pause_out_of_range_is_refused_in_the_visitors_language(esp):
    esp.email.confirm_opt_in(request(esp, "p@example.com"))
    ptoken = token_of(esp.email.preferences_url("p@example.com"))
    before = snapshot(esp)
    resp = esp.email_web.preferences(post(PREFS, ptoken, b"list_newsletter=on&pause_days=999",
                                          headers={"Accept-Language": "fr"}))
    assert resp.status == 400 and "Une pause dure de 1 à 365 jours." in text(resp)
    assert "a pause lasts" not in text(resp) and snapshot(esp) == before
