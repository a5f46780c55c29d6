from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select

from shopprivacy.errors import (
    BadToken,
    ConfigurationError,
    ExpiredToken,
    InvalidInput,
    InvalidPhoneNumber,
    ProcessingRestricted,
    QuietHours,
    RateLimited,
    SuppressedRecipient,
)
from shopprivacy.sms.tables import sms_pending, sms_subjects
from shopprivacy.testing import row_counts

FR = "06 12 34 56 78"
E164 = "+33612345678"
WORDING = "Yes, text me offers from Demo shop (max 4/month). Reply STOP to opt out."


def test_opt_in_keeps_proof_and_no_clear_number(ssp, store):
    change = ssp.sms.opt_in(FR, "marketing", wording=WORDING, source="signup-form", ip="203.0.113.9",
                            user_agent="Mozilla/5.0", customer_ref="gid://shopify/Customer/1")
    assert change.changed and ssp.sms.state(E164, "marketing") == "subscribed"
    assert ssp.sms.state(E164, "vip") == "not_subscribed"
    (event,) = ssp.sms.history("+33 6 12 34 56 78")
    assert event["action"] == "opted_in_opt_in" and event["source"] == "signup-form"
    assert event["text_version"] == ssp.sms.wording_digest(WORDING) == ssp.sms.wording_digest(f"  {WORDING}\n")
    assert event["ip_hash"] and "203.0.113.9" not in event["ip_hash"]
    with store.begin(write=False) as conn:
        row = conn.execute(select(sms_subjects)).one()
    assert E164 not in repr(tuple(row)) and "612345678" not in repr(tuple(row))
    assert ssp.sms.subjects.phone_of(row) == E164
    (entry,) = ssp.audit.entries(subject=change.subject, action="sms.opted_in")
    assert entry.fields == ("phone",) and E164 not in repr(entry)
    ssp.audit.verify()
    ssp.sms.guard(FR, "marketing")


@pytest.mark.parametrize("kwargs", [dict(wording="", source="form"), dict(wording=WORDING, source=""),
                                    dict(wording=WORDING, source="form", time_zone="Mars/Olympus")])
def test_opt_in_needs_wording_source_and_a_real_zone(ssp, store, kwargs):
    before = row_counts(store)
    with pytest.raises(InvalidInput):
        ssp.sms.opt_in(FR, "marketing", **kwargs)
    assert row_counts(store) == before


def test_invalid_number_writes_nothing(ssp, store):
    before = row_counts(store)
    with pytest.raises(InvalidPhoneNumber):
        ssp.sms.opt_in("12", "marketing", wording=WORDING, source="form")
    assert row_counts(store) == before


def test_guard_refuses_without_opt_in_after_opt_out_and_passes_transactional(ssp):
    with pytest.raises(SuppressedRecipient):
        ssp.sms.guard(FR, "marketing")
    ssp.sms.guard(FR, "orders")  # transactional: never blocked
    ssp.sms.opt_in(FR, "marketing", wording=WORDING, source="form")
    assert ssp.sms.opt_out(FR, "marketing").changed
    assert not ssp.sms.opt_out(FR, "marketing").changed  # idempotent
    with pytest.raises(SuppressedRecipient):
        ssp.sms.guard(FR, "marketing")
    # an opt-in without a code cannot undo an opt-out: anyone can type a number
    ssp.sms.opt_in(FR, "marketing", wording=WORDING, source="form")
    assert ssp.sms.state(FR, "marketing") == "unsubscribed"


def test_suppression_survives_erasure(ssp, store):
    ssp.sms.opt_in(FR, "marketing", wording=WORDING, source="form")
    ssp.sms.opt_out(FR)
    assert ssp.sms.erase(FR)
    with store.begin(write=False) as conn:
        row = conn.execute(select(sms_subjects)).one()
    assert row.address is None and row.customer_ref is None
    assert ssp.sms.is_suppressed(FR) and ssp.sms.is_suppressed(E164, "marketing")
    with pytest.raises(SuppressedRecipient):
        ssp.sms.guard(FR, "marketing")
    assert not ssp.sms.erase(FR)
    # the number may be held again later, under a fresh key
    ssp.sms.opt_in(FR, "vip", wording=WORDING, source="form")
    with store.begin(write=False) as conn:
        row = conn.execute(select(sms_subjects)).one()
    assert ssp.sms.subjects.phone_of(row) == E164


def test_quiet_hours_in_the_recipients_zone(ssp, clock):
    us = "+1 650-253-0000"  # Mountain View: America/Los_Angeles
    for number in (FR, us):
        ssp.sms.opt_in(number, "marketing", wording=WORDING, source="form")
    clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)  # 13:00 in Paris, 04:00 in California
    ssp.sms.guard(FR, "marketing")
    with pytest.raises(QuietHours) as info:
        ssp.sms.guard(us, "marketing")
    assert info.value.until == datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc)  # 08:00 PST
    assert isinstance(info.value, SuppressedRecipient)
    ssp.sms.guard(us, "marketing", at=info.value.until)
    ssp.sms.guard(us, "orders")  # transactional texts are not held back
    clock.now = datetime(2026, 11, 24, 20, 30, tzinfo=timezone.utc)  # 21:30 in Paris
    with pytest.raises(QuietHours) as info:
        ssp.sms.guard(FR, "marketing")
    assert info.value.until == datetime(2026, 11, 25, 7, 0, tzinfo=timezone.utc)  # 08:00 CET


def test_a_stored_zone_wins_over_the_numbers(ssp, clock):
    ssp.sms.opt_in(FR, "marketing", wording=WORDING, source="form", time_zone="Pacific/Auckland")
    clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)  # 01:00 in Auckland
    with pytest.raises(QuietHours):
        ssp.sms.guard(FR, "marketing")


def test_a_region_with_several_zones_is_quiet_if_any_is(ssp):
    from shopprivacy.sms.quiet import next_send_time

    s = ssp.sms.settings
    at = datetime(2026, 11, 24, 14, 0, tzinfo=timezone.utc)  # 09:00 New York, 06:00 Los Angeles
    assert next_send_time(at, ["America/New_York"], s.quiet_start, s.quiet_end) == at
    assert next_send_time(at, ["America/New_York", "America/Los_Angeles"], s.quiet_start, s.quiet_end) == \
        datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc)


# -- opt-in confirmed by a texted code -------------------------------------------------------------------------

def test_code_confirms_and_lifts_an_earlier_opt_out(ssp, store, texts):
    ssp.sms.opt_out(FR)
    pending = ssp.sms.request_code(FR, "marketing", wording=WORDING, source="checkout", locale="fr")
    assert len(texts) == 1 and texts[0].to == E164 and texts[0].kind == "code" and "ARRET" in texts[0].body
    code = texts.code()
    assert E164 not in repr(texts[0]) and code not in repr(texts[0])
    with store.begin(write=False) as conn:
        stored = conn.execute(select(sms_pending.c.code_hash)).scalar_one()
    assert code not in stored
    assert ssp.sms.state(FR, "marketing") == "unsubscribed"
    assert ssp.sms.confirm_code(pending, f" {code} ").changed
    assert ssp.sms.state(FR, "marketing") == "subscribed" and not ssp.sms.is_suppressed(FR)
    assert not ssp.sms.confirm_code(pending, code).changed  # repeat
    actions = [e["action"] for e in ssp.sms.history(FR)]
    assert actions == ["opted_out", "opt_in_code_sent", "opted_in_confirmed_opt_in"]


def test_a_code_after_stop_lifts_the_opt_out_of_its_program_only(ssp, texts):
    for program in ("marketing", "vip"):
        ssp.sms.opt_in(FR, program, wording=WORDING, source="form")
    ssp.sms.handle_keyword(E164, "STOP")
    pending = ssp.sms.request_code(FR, "marketing", wording=WORDING, source="checkout")
    ssp.sms.confirm_code(pending, texts.code())
    ssp.sms.guard(FR, "marketing", at=ssp.sms.next_send_time(FR))
    with pytest.raises(SuppressedRecipient):
        ssp.sms.guard(FR, "vip", at=ssp.sms.next_send_time(FR))  # still opted out by the STOP
    assert ssp.sms.state(FR, "vip") == "unsubscribed"


def test_wrong_codes_are_counted_and_limited(ssp, texts):
    pending = ssp.sms.request_code(FR, "marketing", wording=WORDING, source="checkout")
    code = texts.code()
    wrong = str((int(code) + 1) % 10**len(code)).zfill(len(code))
    for _ in range(ssp.sms.settings.code_attempts):
        with pytest.raises(BadToken):
            ssp.sms.confirm_code(pending, wrong)
    with pytest.raises(RateLimited):
        ssp.sms.confirm_code(pending, code)  # even the right code: the attempts are used up
    assert ssp.sms.state(FR, "marketing") == "not_subscribed"
    ssp.sms.request_code(FR, "marketing", wording=WORDING, source="checkout")  # a new code resets them
    assert ssp.sms.confirm_code(pending, texts.code()).changed


def test_codes_expire_and_sends_are_limited(ssp, clock, texts):
    pending = ssp.sms.request_code(FR, "marketing", wording=WORDING, source="checkout")
    clock.advance(minutes=ssp.sms.settings.code_max_age_minutes, seconds=1)
    with pytest.raises(ExpiredToken):
        ssp.sms.confirm_code(pending, texts.code())
    for _ in range(ssp.sms.settings.resend_limit - 1):
        assert ssp.sms.request_code(FR, "marketing", wording=WORDING, source="checkout") == pending
    with pytest.raises(RateLimited):
        ssp.sms.request_code(FR, "marketing", wording=WORDING, source="checkout")
    assert len(texts) == ssp.sms.settings.resend_limit
    clock.advance(hours=ssp.sms.settings.resend_window_hours)
    assert ssp.sms.run_due(clock())["expired_codes"] == 1
    with pytest.raises(Exception) as info:
        ssp.sms.confirm_code(pending, texts.code())
    assert type(info.value).__name__ == "NotFoundError"


def test_a_code_needs_a_sender(ssp, store):
    ssp.sms.set_sender(None)
    before = row_counts(store)
    with pytest.raises(ConfigurationError):
        ssp.sms.request_code(FR, "marketing", wording=WORDING, source="checkout")
    assert row_counts(store) == before


def test_run_due_includes_sms(ssp, clock):
    report = ssp.run_due()
    assert report.tasks["sms"] == {"expired_codes": 0}


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(timezone.utc)),
       st.sampled_from(["+79123456789", "+61412345678", "+16502530000", "+33612345678", "+6421234567"]))
def test_next_send_time_is_outside_quiet_hours_everywhere(at, number):
    from shopprivacy.sms import phones
    from shopprivacy.sms.quiet import next_send_time

    zones = phones.time_zones(number)
    start, end = time(21, 0), time(8, 0)
    found = next_send_time(at, zones, start, end)
    assert at <= found <= at + timedelta(hours=24)
    for zone in zones:
        local = found.astimezone(ZoneInfo(zone)).time()
        assert end <= local < start, (zone, local)


@given(code=st.text(max_size=30), unknown=st.booleans())
def test_any_code_input_is_refused_cleanly(ssp, texts, code, unknown):
    from shopprivacy.errors import NotFoundError

    if not texts:
        texts.pending = ssp.sms.request_code(FR, "marketing", wording=WORDING, source="checkout")
    assume(code.strip() != texts.code())
    with pytest.raises((InvalidInput, NotFoundError, RateLimited)):  # BadToken and ExpiredToken are InvalidInput
        ssp.sms.confirm_code("0" * 24 if unknown else texts.pending, code)
    assert ssp.sms.state(FR, "marketing") == "not_subscribed"


def test_an_objection_or_a_restriction_by_phone_stops_marketing_texts(ssp, clock):
    """A rights request with the phone number (GDPR Art. 21 objection, Art. 18 restriction) refuses marketing
    texts on every program, whatever the standing opt-in; transactional texts still go."""
    ssp.sms.opt_in(FR, "marketing", wording=WORDING, source="signup-form")
    ssp.sms.opt_in(FR, "vip", wording=WORDING, source="signup-form")
    clock.now = clock.now.replace(hour=12)  # outside quiet hours in Paris
    ssp.sms.guard(FR, "marketing")
    req = ssp.rights.open("object", {"phone": "+33 6 12 34 56 78"}, verified_by="shop-login")
    assert ssp.rights.process(req.id).state == "done"
    for program in ("marketing", "vip"):
        with pytest.raises(ProcessingRestricted):
            ssp.sms.guard(FR, program)
    ssp.sms.guard(FR, "orders")
    ssp.rights.lift_restriction({"phone": E164}, reason="the customer opted in again", effect="object")
    ssp.sms.guard(FR, "marketing")
