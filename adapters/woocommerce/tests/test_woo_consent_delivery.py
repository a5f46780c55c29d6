"""Marketing consent reaching WooCommerce through the outbox when answers are malformed: an HTML page or a
body of the wrong shape is retried with backoff, never taken for "no such customer" or "no consent held",
and becomes a dead letter once the outbox's attempts run out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from responses import matchers
from shopprivacy_woocommerce import WooClient, WooCommerceAdapter, consent_meta_key
from shopprivacy_woocommerce.testing import FakeWooCommerce
from sqlalchemy import select

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.settings import OutboxSettings
from shopprivacy.store import Store
from shopprivacy.store.schema import outbox
from shopprivacy.testing import FakeClock

SITE = "https://shop.example"  # the site of the conftest's options
CUSTOMERS = f"{SITE}/wp-json/wc/v3/customers"
HTML = "<html><body><h1>Checking your browser…</h1></body></html>"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def facade(db_url: str, mock: responses.RequestsMock, clock: FakeClock, options_factory: Any) -> Iterator[Any]:
    """Builds the SDK on the WooCommerce adapter; answers registered on ``mock`` before it come first, once
    each (``responses`` pops the first of several matches), then the fake shop answers."""
    apps: list[ShopPrivacy] = []

    def build(shop: FakeWooCommerce | None, **outbox_settings: Any) -> ShopPrivacy:
        if shop is not None:
            shop.install(mock)
        options = options_factory()
        adapter = WooCommerceAdapter(options, client=WooClient(options, sleep=lambda s: None))
        store = Store.from_url(db_url)
        store.upgrade()
        settings = Settings(database_url=db_url, keyset=Keyset.generate().to_json(), platform="woocommerce",
                            public_base_url="https://shop.example", outbox=OutboxSettings(**outbox_settings))
        apps.append(ShopPrivacy(settings, store=store, adapter=adapter, clock=clock))
        return apps[-1]

    yield build
    for app in apps:
        app.close()


def consent_rows(sp: ShopPrivacy) -> list[tuple[str, str | None]]:
    with sp.store.begin(write=False) as conn:
        return [(r.status, r.last_error) for r in conn.execute(
            select(outbox.c.status, outbox.c.last_error).where(outbox.c.topic == "email.marketing_consent"))]


def consent_meta(shop: FakeWooCommerce, cid: int) -> Any:
    return {m["key"]: m["value"] for m in shop.customers[cid]["meta_data"]}.get(consent_meta_key("newsletter"))


def test_an_html_answer_is_retried_by_the_outbox_then_delivered(facade, mock, clock):
    mock.get(CUSTOMERS, body=HTML, status=200, content_type="text/html")
    shop = FakeWooCommerce(SITE)
    cid = shop.add_customer("jane@example.com")
    sp = facade(shop)
    sp.email.unsubscribe_address("jane@example.com", "newsletter")
    assert sp.run_due().outbox.retried == 1
    ((status, error),) = consent_rows(sp)
    assert status == "pending" and error is not None and error.startswith("WooUnavailable")
    clock.advance(minutes=5)
    assert sp.run_due().outbox.delivered == 1
    assert consent_meta(shop, cid)["subscribed"] is False


@pytest.mark.parametrize("body", ["{}", '{"id": 0}', '"jane@example.com"'])
def test_a_lookup_answer_of_the_wrong_shape_is_retried_not_taken_for_no_customer(facade, mock, clock, body):
    mock.get(CUSTOMERS, body=body, status=200, content_type="application/json")
    shop = FakeWooCommerce(SITE)
    cid = shop.add_customer("jane@example.com")
    sp = facade(shop)
    sp.email.unsubscribe_address("jane@example.com", "newsletter")
    assert sp.run_due().outbox.retried == 1  # not "done" with nothing mirrored
    clock.advance(minutes=5)
    assert sp.run_due().outbox.delivered == 1
    assert consent_meta(shop, cid)["subscribed"] is False


def test_a_meta_read_without_meta_data_writes_nothing_and_is_retried(facade, mock, clock):
    shop = FakeWooCommerce(SITE)
    cid = shop.add_customer("jane@example.com")
    mock.get(f"{CUSTOMERS}/{cid}", json={"id": cid}, status=200,  # a cache plugin stripped the meta
             match=[matchers.query_param_matcher({"_fields": "id,meta_data"})])
    sp = facade(shop)
    sp.email.unsubscribe_address("jane@example.com", "newsletter")
    assert sp.run_due().outbox.retried == 1
    assert not [c for c in shop.calls if c[0] == "PUT"]  # no write without the consent time held
    clock.advance(minutes=5)
    assert sp.run_due().outbox.delivered == 1
    assert consent_meta(shop, cid)["subscribed"] is False


def test_answers_that_stay_malformed_become_a_dead_letter_after_the_bound(facade, mock, clock):
    mock.get(CUSTOMERS, body=HTML, status=200, content_type="text/html")  # the only answer: every time
    sp = facade(None, max_attempts=3)
    sp.email.unsubscribe_address("jane@example.com", "newsletter")
    for _ in range(2):
        assert sp.run_due().outbox.retried == 1
        clock.advance(hours=1)
    report = sp.run_due()
    assert report.outbox.dead == 1 and report.dead_letters == 1
    ((status, error),) = consent_rows(sp)
    assert status == "dead" and "WooUnavailable" in (error or "") and "jane" not in (error or "")
