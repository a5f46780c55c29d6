"""Two-way SMS consent sync with a platform, without the platform: what ``sp.sms`` queues for it (the state
across marketing programs, only for numbers tied to a customer) and what it never queues (changes that came
from the platform), and how ``sp.sms.platform`` applies the platform's changes (newest time wins)."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from shopprivacy import ShopPrivacy
from shopprivacy.email.platform import PlatformConsentUpdate
from shopprivacy.errors import InvalidInput
from shopprivacy.sms.propagation import TOPIC
from shopprivacy.store.schema import outbox

PHONE = "+33612345678"
REF = "gid://shopify/Customer/7"
WORDING = "Offers by text. Reply STOP to stop."
T1 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def queued(app) -> list[bool]:
    with app.store.begin(write=False) as conn:
        rows = conn.execute(select(outbox.c.payload).where(outbox.c.topic == TOPIC).order_by(outbox.c.id)).all()
    return [bool(r.payload["subscribed"]) for r in rows]


def test_sdk_changes_queue_the_numbers_marketing_state_for_a_customer(ssp):
    ssp.sms.opt_in(PHONE, "marketing", wording=WORDING, source="signup", customer_ref=REF)
    ssp.sms.opt_in(PHONE, "vip", wording=WORDING, source="signup")
    ssp.sms.opt_out(PHONE, "vip")  # still subscribed to "marketing": the platform's one consent stays on
    ssp.sms.handle_keyword(PHONE, "STOP")
    ssp.sms.handle_keyword(PHONE, "STOP")  # repeat: nothing changed, nothing queued
    ssp.sms.handle_keyword(PHONE, "START")
    assert queued(ssp) == [True, True, True, False, True]
    with ssp.store.begin(write=False) as conn:
        payloads = [str(r.payload) for r in conn.execute(select(outbox.c.payload))]
    assert all("612345678" not in p for p in payloads)  # pseudonym and state only


def test_numbers_without_a_customer_queue_nothing(ssp):
    ssp.sms.opt_in(PHONE, "marketing", wording=WORDING, source="signup")
    ssp.sms.handle_keyword(PHONE, "STOP")
    ssp.sms.handle_keyword("+33612345679", "STOP")  # never held
    assert queued(ssp) == []


def test_platform_changes_apply_newest_first_and_are_never_queued_back(ssp):
    apply = ssp.sms.platform.apply
    assert apply(PlatformConsentUpdate("shopify", PHONE, True, T1, customer_ref=REF,
                                       opt_in_level="single_opt_in")).changed
    assert ssp.sms.state(PHONE, "marketing") == "subscribed" and ssp.sms.state(PHONE, "vip") == "subscribed"
    assert apply(PlatformConsentUpdate("shopify", PHONE, False, T1 + timedelta(hours=2))).changed
    assert not apply(PlatformConsentUpdate("shopify", PHONE, True, T1 + timedelta(hours=1))).changed  # older
    assert ssp.sms.is_suppressed(PHONE, "marketing") and ssp.sms.is_suppressed(PHONE, "vip")
    assert [h["action"] for h in ssp.sms.history(PHONE)] == ["platform_opt_in", "platform_opt_in",
                                                            "platform_unsubscribed"]
    assert queued(ssp) == []


def test_a_platform_opt_in_after_a_newer_sdk_stop_does_not_apply(ssp, clock):
    ssp.sms.handle_keyword(PHONE, "STOP")
    older = clock() - timedelta(minutes=5)
    assert not ssp.sms.platform.apply(PlatformConsentUpdate("shopify", PHONE, True, older)).changed
    assert ssp.sms.is_suppressed(PHONE, "marketing")


@pytest.mark.parametrize("phone", ["", "12", "not a number", "bob@example.com"])
def test_a_platform_change_needs_a_valid_number(ssp, phone):
    with pytest.raises(InvalidInput):
        ssp.sms.platform.apply(PlatformConsentUpdate("shopify", phone, False, T1))
    assert ssp.sms.history(PHONE) == []


class Sink:
    """A platform that keeps one SMS consent per customer."""

    name = "fake"

    def __init__(self):
        self.calls = []

    def set_sms_marketing_consent(self, update, *, idempotency_key):
        self.calls.append((update.customer_id, update.subscribed, update.opt_in_level))

    def close(self):
        pass


def test_run_due_in_another_process_delivers_what_sp_sms_queued(settings, store):
    sink = Sink()
    shop = ShopPrivacy(settings, store=store, adapter=sink)  # the web process: records the opt-in and a STOP
    shop.sms.opt_in(PHONE, "marketing", wording=WORDING, source="signup", customer_ref=REF)
    shop.sms.handle_keyword(PHONE, "STOP")
    worker = ShopPrivacy(settings, store=store, adapter=sink)  # `shopprivacy run-due`: never touched sp.sms
    report = worker.run_due()
    assert report.outbox.dead == 0 and report.outbox.retried == 0, report.outbox.errors
    assert sink.calls == [(REF, False, "unknown")]  # the STOP superseded the opt-in still waiting
    shop.close()
    worker.close()
