"""Propagation to the platform through the outbox: retried with backoff while the local suppression holds."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from shopprivacy import ShopPrivacy
from shopprivacy.errors import PlatformError, SuppressedRecipient
from shopprivacy.platforms.local import LocalShop
from shopprivacy.store.engine import make_engine
from shopprivacy.store.schema import outbox

from .conftest import token_of


class FlakyShop(LocalShop):
    """The local reference shop whose marketing-consent writes fail as scripted before they succeed."""

    def __init__(self, url: str, failures: list[Exception]) -> None:
        super().__init__(make_engine(url))
        self.failures = failures
        self.calls: list[str] = []
        self.applied = 0

    def set_marketing_consent(self, update_, *, idempotency_key):
        self.calls.append(idempotency_key)
        if self.failures:
            raise self.failures.pop(0)
        before = self.customer(self.find_customer(email=update_.email).id)["marketing_updated_at"]
        super().set_marketing_consent(update_, idempotency_key=idempotency_key)
        after = self.customer(self.find_customer(email=update_.email).id)["marketing_updated_at"]
        self.applied += before != after


def row(sp):
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(outbox).where(outbox.c.topic == "email.marketing_consent")).one()


@pytest.fixture
def flaky(esp, store, clock, tmp_path):
    shop = FlakyShop(f"sqlite:///{tmp_path}/flaky.db", [
        PlatformError("the platform is unavailable", retryable=True),
        PlatformError("slow down", retry_after=600),
    ])
    app = ShopPrivacy(esp.settings, store=store, clock=clock, adapter=shop)
    yield app, shop
    app.close()


def test_delivery_retries_with_backoff_while_the_suppression_holds(flaky, clock):
    sp, shop = flaky
    cid = shop.add_customer("jane@example.com")
    sp.email.suppression.unsubscribe(token_of(sp.email.unsubscribe_url("jane@example.com", "newsletter")))

    def held() -> None:
        assert sp.email.is_suppressed("jane@example.com", "newsletter")
        with pytest.raises(SuppressedRecipient):
            sp.email.guard("jane@example.com", "newsletter")

    held()
    # 1st attempt: a retryable failure -> back to pending, due again after an exponential backoff
    report = sp.run_due()
    assert (report.outbox.delivered, report.outbox.retried) == (0, 1)
    first = row(sp)
    assert first.status == "pending" and first.attempts == 1 and "unavailable" in first.last_error
    wait = first.next_attempt_at - clock()
    base = sp.settings.outbox.base_delay_seconds
    assert timedelta(seconds=base / 2) <= wait <= timedelta(seconds=base)
    held()
    assert sp.run_due().outbox.retried == 0  # not due yet: nothing is tried before the backoff ends
    assert len(shop.calls) == 1
    # 2nd attempt: the platform asks to wait ten minutes -> Retry-After wins over the shorter backoff
    clock.advance(seconds=wait.total_seconds() + 1)
    assert sp.run_due().outbox.retried == 1
    second = row(sp)
    assert second.attempts == 2 and second.next_attempt_at >= clock() + timedelta(seconds=600)
    clock.advance(seconds=300)
    assert sp.run_due().outbox.retried == 0
    held()
    assert shop.customer(cid)["marketing_state"] == "not_subscribed"
    # the platform has recovered: delivered once, with the same idempotency key every time
    clock.advance(seconds=301)
    report = sp.run_due()
    assert (report.outbox.delivered, report.outbox.retried, report.outbox.dead) == (1, 0, 0)
    assert row(sp).status == "done"
    assert shop.customer(cid)["marketing_state"] == "unsubscribed"
    assert shop.applied == 1 and len(set(shop.calls)) == 1 and len(shop.calls) == 3
    clock.advance(days=1)
    assert sp.run_due().outbox.delivered == 0  # never delivered twice
    assert shop.applied == 1
    held()  # the local suppression is the source of truth, before and after the platform


@pytest.fixture
def fails_once(esp, store, clock, tmp_path):
    shop = FlakyShop(f"sqlite:///{tmp_path}/flaky.db", [PlatformError("the platform is unavailable")])
    app = ShopPrivacy(esp.settings, store=store, clock=clock, adapter=shop)
    yield app, shop
    app.close()


def test_a_failed_opt_in_retried_after_an_unsubscribe_never_resubscribes_on_the_platform(fails_once, clock):
    """Opt-in delivery fails once, the customer unsubscribes, the opt-in's retry comes due last."""
    sp, shop = fails_once
    cid = shop.add_customer("jane@example.com")
    sp.email.confirm_opt_in(token_of(sp.email.request_opt_in("jane@example.com", "newsletter", source="form",
                                                              consent_text_version="v1")))
    assert sp.run_due().outbox.retried == 1  # the opt-in waits for its backoff
    opt_in_key = shop.calls[0]
    clock.advance(seconds=1)
    sp.email.suppression.unsubscribe(token_of(sp.email.unsubscribe_url("jane@example.com", "newsletter")))
    assert sp.run_due().outbox.delivered == 1
    assert shop.customer(cid)["marketing_state"] == "unsubscribed"
    clock.advance(hours=1)  # long past the opt-in's backoff
    sp.run_due()
    assert shop.customer(cid)["marketing_state"] == "unsubscribed"
    assert sp.email.state("jane@example.com", "newsletter") == "unsubscribed"  # the SDK and the platform agree
    assert shop.calls.count(opt_in_key) == 1  # the outdated opt-in was never sent again
    with sp.store.begin(write=False) as conn:
        statuses = conn.execute(select(outbox.c.status).where(outbox.c.topic == "email.marketing_consent")
                                .order_by(outbox.c.id)).scalars().all()
    assert statuses == ["superseded", "done"]


def test_a_hand_made_marketing_consent_row_is_a_dead_letter_that_says_why_not_a_keyerror(flaky, clock):
    """The README's old tour queued ``email.marketing_consent {"customer": "42"}``: every run-due failed it with
    ``KeyError`` and retried. Retrying cannot help, so it is a dead letter at once, with what it lacks."""
    sp, shop = flaky
    with sp.store.begin() as conn:
        sp.outbox.enqueue(conn, "email.marketing_consent", {"customer": "42"}, idempotency_key="unsub-42")
    sp.run_due()
    dead = row(sp)
    assert dead.status == "dead" and "KeyError" not in dead.last_error
    assert "missing: subject, list, subscribed, level, at" in dead.last_error and shop.calls == []
