"""Marketing consent reaching Shopify through the outbox: in order, never an old state over a newer one, and
malformed answers retried with backoff until the outbox's attempts run out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from shopify_fakes import ENDPOINT, OPTIONS, Router, answer
from shopprivacy_shopify import ShopifyAdapter
from sqlalchemy import select

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.settings import OutboxSettings
from shopprivacy.store import Store
from shopprivacy.store.schema import outbox
from shopprivacy.testing import FakeClock

GID = "gid://shopify/Customer/9"
FOUND = answer({"customerByIdentifier": {"id": GID}})
HTML = (200, {"Content-Type": "text/html"}, "<html><body>Service temporarily unavailable</body></html>")


class ShopifyConsent:
    """Shopify's side of customer 9's e-mail marketing consent. It applies every update it receives, in the
    order received (the worst case: no ordering of its own), and reports the consent time it holds."""

    def __init__(self) -> None:
        self.state = "NOT_SUBSCRIBED"
        self.updated_at: str | None = None
        self.received: list[str] = []

    def read(self, variables: dict[str, Any]) -> dict[str, Any]:
        return answer({"customer": {"id": GID, "defaultEmailAddress": {"marketingUpdatedAt": self.updated_at}}})

    def write(self, variables: dict[str, Any]) -> dict[str, Any]:
        consent = variables["input"]["emailMarketingConsent"]
        self.received.append(consent["marketingState"])
        self.state, self.updated_at = consent["marketingState"], consent["consentUpdatedAt"]
        return answer({"customerEmailMarketingConsentUpdate": {"customer": {"id": GID}, "userErrors": []}})


def facade(db_url: str, adapter: ShopifyAdapter, clock: FakeClock, **outbox: Any) -> ShopPrivacy:
    settings = Settings(database_url=db_url, keyset=Keyset.generate().to_json(), public_base_url="https://shop.example",
                        platform="shopify", platform_options=OPTIONS, outbox=OutboxSettings(**outbox))
    store = Store.from_url(db_url)
    store.upgrade()
    return ShopPrivacy(settings, store=store, adapter=adapter, clock=clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sp(db_url: str, adapter: ShopifyAdapter, clock: FakeClock) -> Iterator[ShopPrivacy]:
    app = facade(db_url, adapter, clock)
    yield app
    app.close()


def consent_rows(sp: ShopPrivacy) -> list[tuple[str, str | None]]:
    with sp.store.begin(write=False) as conn:
        return [(r.status, r.last_error) for r in conn.execute(
            select(outbox.c.status, outbox.c.last_error).where(outbox.c.topic == "email.marketing_consent")
            .order_by(outbox.c.id))]


@responses.activate
def test_a_failed_opt_in_retried_after_an_unsubscribe_never_resubscribes_on_shopify(sp: ShopPrivacy,
                                                                                    clock: FakeClock) -> None:
    shopify = ShopifyConsent()
    unavailable = [requests.ConnectionError("reset")] * 6  # every in-process attempt of the first delivery
    router = (Router().on("CustomerByEmail", FOUND).on("CustomerMarketingConsent", shopify.read)
              .on("CustomerEmailMarketingConsentUpdate", *unavailable, shopify.write))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    token = sp.email.request_opt_in("jane@example.com", "newsletter", source="form", consent_text_version="v1")
    sp.email.confirm_opt_in(token.split("?t=", 1)[1])
    assert sp.run_due().outbox.retried == 1  # the opt-in failed and waits for its backoff
    clock.advance(seconds=1)
    sp.email.unsubscribe_address("jane@example.com", "newsletter")
    assert sp.run_due().outbox.delivered == 1
    assert shopify.state == "UNSUBSCRIBED"
    clock.advance(hours=1)  # long past the opt-in's backoff
    sp.run_due()
    assert shopify.state == "UNSUBSCRIBED" and shopify.received == ["UNSUBSCRIBED"]
    assert sp.email.state("jane@example.com", "newsletter") == "unsubscribed"
    assert [status for status, _ in consent_rows(sp)] == ["superseded", "done"]


@responses.activate
def test_an_html_answer_is_retried_by_the_outbox_then_delivered(sp: ShopPrivacy, clock: FakeClock) -> None:
    shopify = ShopifyConsent()
    router = (Router().on("CustomerByEmail", *[HTML] * 6, FOUND).on("CustomerMarketingConsent", shopify.read)
              .on("CustomerEmailMarketingConsentUpdate", shopify.write))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    sp.email.unsubscribe_address("jane@example.com", "newsletter")
    first = sp.run_due().outbox
    assert (first.delivered, first.retried, first.dead) == (0, 1, 0)
    ((status, error),) = consent_rows(sp)
    assert status == "pending" and error is not None and error.startswith("ShopifyResponseError")
    clock.advance(minutes=5)
    assert sp.run_due().outbox.delivered == 1
    assert shopify.state == "UNSUBSCRIBED" and consent_rows(sp) == [("done", None)]


@responses.activate
def test_answers_that_stay_malformed_become_a_dead_letter_after_the_bound(db_url: str, adapter: ShopifyAdapter,
                                                                          clock: FakeClock) -> None:
    responses.add_callback(responses.POST, ENDPOINT,
                           callback=Router().on("CustomerByEmail", (200, {}, '{"data": {"customerByIdent')))
    sp = facade(db_url, adapter, clock, max_attempts=3)
    try:
        sp.email.unsubscribe_address("jane@example.com", "newsletter")
        for _ in range(2):
            assert sp.run_due().outbox.retried == 1
            clock.advance(hours=1)
        report = sp.run_due()
        assert report.outbox.dead == 1 and report.dead_letters == 1
        ((status, error),) = consent_rows(sp)
        assert status == "dead" and "ShopifyResponseError" in (error or "")
        assert "jane" not in (error or "")
    finally:
        sp.close()
