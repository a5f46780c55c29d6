"""Shopify's e-mail marketing consent webhook: verified, deduplicated, applied by one ``run-due`` with Shopify's
time as proof, never overriding a newer state, never echoed back to Shopify (SMS: test_shopify_sms_consent)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shopprivacy_shopify.marketing import EMAIL_CONSENT
from sqlalchemy import func, select
from test_shopify_webhooks import delivery, endpoint, raw

from shopprivacy import ShopPrivacy
from shopprivacy.errors import SuppressedRecipient
from shopprivacy.store.schema import inbox, outbox

ADDRESS = "bob@example.com"
T1 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def consent(state: str | None, at: datetime | None, *, level: str | None = "single_opt_in",
            address: str | None = ADDRESS) -> bytes:
    return raw({"customer_id": 706405506930370084, "email_address": address,
                "email_marketing_consent": {"state": state, "opt_in_level": level,
                                            "consent_updated_at": at.isoformat() if at else None,
                                            "consent_collected_from": "SHOPIFY"}})


def send(sp: ShopPrivacy, body: bytes, event: str, topic: str = EMAIL_CONSENT, **kw: Any) -> Any:
    return endpoint(sp).handler(delivery(topic, body, event_id=event, webhook_id=f"wh-{event}", **kw))


def rows(sp: ShopPrivacy, topic: str | None = None) -> int:
    with sp.store.begin(write=False) as conn:
        q = select(func.count()).select_from(outbox)
        return int(conn.execute(q.where(outbox.c.topic == topic) if topic else q).scalar_one())


def run_due(sp: ShopPrivacy) -> None:
    report = sp.run_due()
    assert report.outbox.dead == 0, report.outbox.errors


def test_an_unsubscribe_on_shopify_suppresses_after_one_run_due_and_is_not_echoed(sp: ShopPrivacy) -> None:
    assert send(sp, consent("subscribed", T1, level="confirmed_opt_in"), "e1").status == 200
    run_due(sp)
    assert sp.email.state(ADDRESS, "newsletter") == "subscribed"
    assert send(sp, consent("unsubscribed", T1 + timedelta(hours=1)), "e2").status == 200
    assert not sp.email.is_suppressed(ADDRESS, "newsletter")  # acknowledged first, applied by run-due
    run_due(sp)
    assert sp.email.is_suppressed(ADDRESS, "newsletter")
    with pytest.raises(SuppressedRecipient):
        sp.email.guard(ADDRESS, "newsletter")
    history = sp.email.subjects.history(ADDRESS)
    assert [(h["action"], h["at"], h["source"]) for h in history] == [
        ("platform_opt_in", T1.isoformat(), "shopify:confirmed_opt_in:SHOPIFY"),
        ("platform_unsubscribed", (T1 + timedelta(hours=1)).isoformat(), "shopify:withdrawn:SHOPIFY")]
    assert rows(sp, "email.marketing_consent") == 0  # no push of Shopify's own change back to Shopify
    with sp.store.begin(write=False) as conn:  # the queued work held the address sealed, never in clear
        payloads = [json.dumps(r.payload) for r in conn.execute(select(outbox.c.payload))]
    assert payloads and all(ADDRESS not in p for p in payloads)


def test_a_duplicate_delivery_is_accepted_once(sp: ShopPrivacy) -> None:
    body = consent("unsubscribed", T1)
    first, again = send(sp, body, "e1"), send(sp, body, "e1")
    assert (first.status, again.status) == (200, 200) and json.loads(again.body)["duplicate"] is True
    assert rows(sp, "shopify.email_marketing_consent") == 1
    run_due(sp)
    assert [h["action"] for h in sp.email.subjects.history(ADDRESS)] == ["platform_unsubscribed"]


def test_out_of_order_deliveries_keep_the_newest_choice(sp: ShopPrivacy) -> None:
    send(sp, consent("unsubscribed", T1 + timedelta(hours=2)), "late-choice")
    send(sp, consent("subscribed", T1 + timedelta(hours=1)), "early-choice")  # delivered after the newer one
    run_due(sp)
    assert sp.email.is_suppressed(ADDRESS, "newsletter")
    assert [h["action"] for h in sp.email.subjects.history(ADDRESS)] == ["platform_unsubscribed"]


def test_an_older_shopify_state_does_not_undo_the_subscribers_newer_unsubscribe(sp: ShopPrivacy) -> None:
    now = datetime.now(timezone.utc)
    send(sp, consent("subscribed", now - timedelta(days=2)), "e1")
    run_due(sp)
    sp.email.unsubscribe_address(ADDRESS)  # the subscriber clicks the link in a mail
    send(sp, consent("subscribed", now - timedelta(days=1)), "e2")  # Shopify's older state, delivered late
    sp.outbox.deliver_due()
    assert sp.email.is_suppressed(ADDRESS, "newsletter")


@pytest.mark.parametrize(("state", "suppressed"), [("not_subscribed", True), ("invalid", True),
                                                    ("redacted", True), ("pending", False), (None, False)])
def test_states(sp: ShopPrivacy, state: str | None, suppressed: bool) -> None:
    assert send(sp, consent(state, T1), "e1").status == 200
    run_due(sp)
    assert sp.email.is_suppressed(ADDRESS, "newsletter") is suppressed


def test_unsigned_or_wrongly_signed_consent_is_refused(sp: ShopPrivacy) -> None:
    assert send(sp, consent("unsubscribed", T1), "e1", signature=None).status == 401
    assert send(sp, consent("unsubscribed", T1), "e1", signature="AAAA").status == 401
    assert rows(sp) == 0


def _writes(sp: ShopPrivacy) -> tuple[int, int]:
    with sp.store.begin(write=False) as conn:
        return (int(conn.execute(select(func.count()).select_from(inbox)).scalar_one()), rows(sp))


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                           max_leaves=12)
hostile = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"customer_id": json_values, "email_address": json_values,
                           "email_marketing_consent": json_values}).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"customer_id": st.integers(), "email_address": st.text(max_size=40),
                           "email_marketing_consent": st.fixed_dictionaries({
                               "state": st.text(max_size=12), "consent_updated_at": st.text(max_size=30)})})
    .map(lambda v: json.dumps(v).encode()),
)


@given(body=hostile)
def test_hostile_bodies_are_refused_or_acknowledged_without_writes(sp: ShopPrivacy, body: bytes) -> None:
    before = _writes(sp)
    assert send(sp, body, "h1", signature=None).status == 401
    signed = send(sp, body, "h1")
    assert signed.status in (200, 400) or (body == b"" and signed.status == 401)  # Shopify never sends b""
    assert _writes(sp) == before
