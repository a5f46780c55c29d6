"""Shopify's SMS marketing consent webhook (``customers_marketing_consent/update``): verified, deduplicated,
applied to ``sp.sms`` by one ``run-due`` with Shopify's time as proof, newest wins, never echoed back."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shopprivacy_shopify.marketing import SMS_CONSENT
from sqlalchemy import func, select
from test_shopify_marketing_consent import rows, run_due, send
from test_shopify_webhooks import raw

from shopprivacy import ShopPrivacy
from shopprivacy.errors import SuppressedRecipient
from shopprivacy.sms.tables import sms_suppressions
from shopprivacy.store.schema import inbox, outbox

PHONE = "+13125551212"
T1 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
WORDING = "Texts about offers from Example Shop. Reply STOP to stop."


def sms(state: str | None, at: datetime | None, *, phone: str | None = PHONE, level: str = "single_opt_in") -> bytes:
    return raw({"id": 706405506930370084, "phone": phone,
                "sms_marketing_consent": {"state": state, "opt_in_level": level,
                                          "consent_updated_at": at.isoformat() if at else None,
                                          "consent_collected_from": "OTHER"}})


def deliver(sp: ShopPrivacy, body: bytes, event: str, **kw: object) -> int:
    return int(send(sp, body, event, topic=SMS_CONSENT, **kw).status)


def test_an_sms_unsubscribe_on_shopify_suppresses_after_one_run_due_and_is_not_echoed(sp: ShopPrivacy) -> None:
    assert deliver(sp, sms("subscribed", T1), "s1") == 200
    run_due(sp)
    assert sp.sms.state(PHONE, "marketing") == "subscribed"
    assert deliver(sp, sms("unsubscribed", T1 + timedelta(hours=1)), "s2") == 200
    assert not sp.sms.is_suppressed(PHONE, "marketing")  # acknowledged first, applied by run-due
    run_due(sp)
    assert sp.sms.is_suppressed(PHONE, "marketing")
    with pytest.raises(SuppressedRecipient):
        sp.sms.guard(PHONE, "marketing")
    assert [(h["action"], h["at"], h["source"]) for h in sp.sms.history(PHONE)] == [
        ("platform_opt_in", T1.isoformat(), "shopify:single_opt_in:OTHER"),
        ("platform_unsubscribed", (T1 + timedelta(hours=1)).isoformat(), "shopify:withdrawn:OTHER")]
    with sp.store.begin(write=False) as conn:  # suppressed by blind index; the number never in clear in a row
        assert conn.execute(select(func.count()).select_from(sms_suppressions)).scalar_one() == 1
        topics = [r.topic for r in conn.execute(select(outbox.c.topic))]
        payloads = [json.dumps(r.payload) for r in conn.execute(select(outbox.c.payload))]
    assert set(topics) == {"shopify.sms_marketing_consent"}  # nothing queued back for Shopify
    assert payloads and all(PHONE not in p and PHONE[1:] not in p for p in payloads)


def test_a_withdrawal_for_a_number_never_held_still_suppresses(sp: ShopPrivacy) -> None:
    deliver(sp, sms("not_subscribed", T1, phone="+1 (312) 555-1212"), "s1")
    run_due(sp)
    assert sp.sms.is_suppressed(PHONE, "marketing")


def test_a_duplicate_delivery_is_applied_once(sp: ShopPrivacy) -> None:
    body = sms("unsubscribed", T1)
    assert (deliver(sp, body, "s1"), deliver(sp, body, "s1")) == (200, 200)
    assert rows(sp, "shopify.sms_marketing_consent") == 1
    run_due(sp)
    assert [h["action"] for h in sp.sms.history(PHONE)] == ["platform_unsubscribed"]


def test_out_of_order_deliveries_keep_the_newest_choice(sp: ShopPrivacy) -> None:
    deliver(sp, sms("unsubscribed", T1 + timedelta(hours=2)), "late-choice")
    deliver(sp, sms("subscribed", T1 + timedelta(hours=1)), "early-choice")  # delivered after the newer one
    run_due(sp)
    assert sp.sms.is_suppressed(PHONE, "marketing")
    assert [h["action"] for h in sp.sms.history(PHONE)] == ["platform_unsubscribed"]
    deliver(sp, sms("subscribed", T1 + timedelta(hours=3)), "newest")  # a newer opt-in on Shopify lifts it
    run_due(sp)
    assert sp.sms.state(PHONE, "marketing") == "subscribed"
    assert sp.sms.guard(PHONE, "marketing", at=datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)) == PHONE


def test_an_older_shopify_state_does_not_undo_a_newer_keyword_stop(sp: ShopPrivacy) -> None:
    now = datetime.now(timezone.utc)
    deliver(sp, sms("subscribed", now - timedelta(days=2)), "s1")
    run_due(sp)
    sp.sms.handle_keyword(PHONE, "STOP")
    deliver(sp, sms("subscribed", now - timedelta(days=1)), "s2")
    run_due(sp)
    assert sp.sms.is_suppressed(PHONE, "marketing")


@pytest.mark.parametrize(("state", "suppressed"), [("not_subscribed", True), ("redacted", True),
                                                    ("pending", False), (None, False)])
def test_states(sp: ShopPrivacy, state: str | None, suppressed: bool) -> None:
    assert deliver(sp, sms(state, T1), "s1") == 200
    run_due(sp)
    assert sp.sms.is_suppressed(PHONE, "marketing") is suppressed


def test_forged_or_unsigned_deliveries_are_refused_and_write_nothing(sp: ShopPrivacy) -> None:
    assert deliver(sp, sms("unsubscribed", T1), "s1", signature=None) == 401
    assert deliver(sp, sms("unsubscribed", T1), "s1", signature="AAAA") == 401
    assert rows(sp) == 0
    run_due(sp)
    assert not sp.sms.is_suppressed(PHONE, "marketing") and sp.sms.history(PHONE) == []


def test_an_invalid_number_is_not_retried_forever(sp: ShopPrivacy) -> None:
    assert deliver(sp, sms("unsubscribed", T1, phone="12"), "s1") == 200
    report = sp.run_due()
    assert report.outbox.dead == 1  # permanent failure: parked for the operator, no partial write
    with sp.store.begin(write=False) as conn:
        assert conn.execute(select(func.count()).select_from(sms_suppressions)).scalar_one() == 0


def _writes(sp: ShopPrivacy) -> tuple[int, int]:
    with sp.store.begin(write=False) as conn:
        return (int(conn.execute(select(func.count()).select_from(inbox)).scalar_one()), rows(sp))


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                           max_leaves=12)
hostile = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"id": json_values, "phone": json_values, "sms_marketing_consent": json_values})
    .map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"id": st.integers(), "phone": st.none() | st.just(""),
                           "sms_marketing_consent": st.fixed_dictionaries({
                               "state": st.text(max_size=12), "consent_updated_at": st.text(max_size=30)})})
    .map(lambda v: json.dumps(v).encode()),
)


@given(body=hostile)
def test_hostile_bodies_are_refused_or_acknowledged_without_writes(sp: ShopPrivacy, body: bytes) -> None:
    before = _writes(sp)
    assert deliver(sp, body, "h1", signature=None) == 401
    status = deliver(sp, body, "h1")
    assert status in (200, 400) or (body == b"" and status == 401)
    assert _writes(sp) == before
