"""The inbound-SMS webhook: keyword opt-out through a request signed as Twilio signs it (by Twilio's own helper)."""

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from shopprivacy import ShopPrivacy
from shopprivacy.errors import SuppressedRecipient
from shopprivacy.testing import row_counts
from shopprivacy.web import Request

from .conftest import ACCOUNT, TOKEN, URL, inbound, route

FROM = "+33612345678"
WORDING = "Yes, text me offers. Reply STOP to opt out."


def message(body: str, sender: str = FROM, **extra: str) -> list[tuple[str, str]]:
    return [("MessageSid", "SM" + "1" * 32), ("AccountSid", ACCOUNT), ("From", sender), ("To", "+33700000000"),
            ("Body", body), ("NumMedia", "0"), *extra.items()]


def test_signed_stop_opts_out_of_every_program(ssp, store):
    for program in ("marketing", "vip"):
        ssp.sms.opt_in(FROM, program, wording=WORDING, source="signup")
    resp = route(ssp).respond(inbound(message("Stop")))
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/xml")
    assert resp.body == b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    assert ssp.sms.is_suppressed(FROM)
    for program in ("marketing", "vip"):
        with pytest.raises(SuppressedRecipient):
            ssp.sms.guard(FROM, program)
    assert ssp.sms.history(FROM)[-1]["action"] == "opted_out"
    assert ssp.sms.history(FROM)[-1]["source"] == "sms-keyword"
    # Twilio retries: a repeat changes nothing
    before = row_counts(store)
    assert route(ssp).respond(inbound(message("STOP"))).status == 200
    assert row_counts(store) == before


def test_start_resumes_what_stop_stopped(ssp):
    ssp.sms.opt_in(FROM, "marketing", wording=WORDING, source="signup")
    route(ssp).respond(inbound(message("ARRÊT")))
    assert ssp.sms.state(FROM, "marketing") == "unsubscribed"
    assert route(ssp).respond(inbound(message("start"))).status == 200
    assert ssp.sms.state(FROM, "marketing") == "subscribed"
    assert ssp.sms.state(FROM, "vip") == "not_subscribed"  # START restores, it does not add
    ssp.sms.guard(FROM, "marketing", at=ssp.sms.next_send_time(FROM))


def test_help_answers_with_twiml(ssp, store):
    before = row_counts(store)
    resp = route(ssp).respond(inbound(message("HELP")))
    assert resp.status == 200 and b"<Message>Demo shop: marketing texts. Reply STOP" in resp.body
    assert row_counts(store) == before


def test_an_ordinary_message_or_a_short_code_writes_nothing(ssp, store):
    before = row_counts(store)
    assert route(ssp).respond(inbound(message("Where is my order?"))).body.endswith(b"<Response></Response>")
    assert route(ssp).respond(inbound(message("STOP", sender="ShopAlerts"))).status == 200
    assert row_counts(store) == before


@pytest.mark.parametrize("forge", [
    lambda p: inbound(p, signature=""),
    lambda p: inbound(p, signature="GvWf1cFY/Q7PnoempGyD5oXAezc="),
    lambda p: inbound(p, token=TOKEN[::-1]),                                  # signed with another token
    lambda p: inbound(p, url="https://evil.example/privacy/sms/inbound"),     # signed for another URL
    lambda p: Request("POST", "/privacy/sms/inbound", body=urlencode(p).encode(),
                      headers={"Content-Type": "application/x-www-form-urlencoded"}),  # no header
    lambda p: inbound([(k, "+33699999999" if k == "From" else v) for k, v in p],      # tampered after signing
                      signature=RequestValidator(TOKEN).compute_signature(URL, dict(p))),
])
def test_forged_requests_get_401_and_write_nothing(ssp, store, forge):
    ssp.sms.opt_in(FROM, "marketing", wording=WORDING, source="signup")
    before = row_counts(store)
    resp = route(ssp).respond(forge(message("STOP")))
    assert resp.status == 401
    assert row_counts(store) == before and not ssp.sms.is_suppressed(FROM)


def test_url_with_default_port_and_configured_inbound_url(ssp, settings, store, clock):
    sig = RequestValidator(TOKEN).compute_signature("https://shop.example:443/privacy/sms/inbound",
                                                    dict(message("STOP")))
    assert route(ssp).respond(inbound(message("STOP"), signature=sig)).status == 200
    assert ssp.sms.is_suppressed(FROM)
    configured = "https://hooks.example/twilio/sms?shop=1"
    s = ssp.settings.model_copy(update={"sms": ssp.settings.sms.model_copy(update={"inbound_url": configured})})
    other = ShopPrivacy(s, store=store, clock=clock)
    try:
        assert route(other).respond(inbound(message("START"), url=configured)).status == 200
        assert route(other).respond(inbound(message("STOP"))).status == 401  # signed for the default URL
    finally:
        other.close()
    assert not ssp.sms.is_suppressed(FROM)


def test_other_account_unconfigured_and_not_a_form(ssp, settings, store):
    before = row_counts(store)
    other_account = [(k, "AC" + "9" * 32 if k == "AccountSid" else v) for k, v in message("STOP")]
    assert route(ssp).respond(inbound(other_account)).status == 403
    req = Request("POST", "/privacy/sms/inbound", body=b'{"Body": "STOP"}',
                  headers={"Content-Type": "application/json", "X-Twilio-Signature": "x"})
    assert route(ssp).respond(req).status == 415
    plain = ShopPrivacy(settings, store=store)
    try:
        assert "sms.inbound" not in {r.name for r in plain.web_routes()}  # not mounted without a token
        assert plain.sms_web.inbound(inbound(message("STOP"))).status == 503
    finally:
        plain.close()
    assert row_counts(store) == before


@hsettings(max_examples=60)
@given(body=st.binary(max_size=300), sig=st.text(max_size=40),
       ctype=st.sampled_from(["application/x-www-form-urlencoded", "text/plain", ""]))
def test_unsigned_garbage_is_refused_without_writes(ssp, store, body, sig, ctype):
    before = row_counts(store)
    resp = route(ssp).respond(Request("POST", "/privacy/sms/inbound", body=body,
                                      headers={"Content-Type": ctype, "X-Twilio-Signature": sig}))
    assert resp.status in (400, 401, 413, 415)
    assert row_counts(store) == before


@hsettings(max_examples=40)
@given(body=st.text(max_size=200), sender=st.text(max_size=20) | st.just(FROM),
       extra=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=4))
def test_any_signed_message_is_answered_without_error(ssp, body, sender, extra):
    params = message(body, sender=sender)
    params += [(k, v) for k, v in extra.items() if k not in dict(params)]
    resp = route(ssp).respond(inbound(params))
    if "\x00" in body + sender + "".join(extra) + "".join(extra.values()):
        assert resp.status == 400  # the form parser refuses NUL before the signature is checked
        return
    assert resp.status == 200 and resp.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><Response>')


def test_signed_stop_through_flask(tmp_path, keyset):
    flask = pytest.importorskip("flask")
    from shopprivacy.integrations.flask import ShopPrivacyFlask

    app = flask.Flask(__name__)
    app.config.update(SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp_path}/sp.db", SHOPPRIVACY_KEYSET=keyset.to_json(),
                      SHOPPRIVACY_PUBLIC_BASE_URL="https://shop.example",
                      SHOPPRIVACY_SMS__TWILIO_AUTH_TOKEN=TOKEN)
    ShopPrivacyFlask(app)
    sp = ShopPrivacyFlask.sp(app)
    sp.store.upgrade()
    client = app.test_client(use_cookies=False)
    params = message("STOP")
    signature = RequestValidator(TOKEN).compute_signature(URL, dict(params))
    forged = client.post("/privacy/sms/inbound", data=dict(params), headers={"X-Twilio-Signature": "AAAA"})
    assert forged.status_code == 401 and not sp.sms.is_suppressed(FROM)
    resp = client.post("/privacy/sms/inbound", data=dict(params), headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    assert sp.sms.is_suppressed(FROM)
    sp.close()
