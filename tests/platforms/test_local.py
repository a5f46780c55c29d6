from datetime import datetime, timezone

import pytest

from shopprivacy.errors import InvalidInput, NotFoundError, PlatformError
from shopprivacy.platforms import MarketingConsentUpdate
from shopprivacy.platforms.local import LocalShop


@pytest.fixture
def shop(db_url):
    s = LocalShop.from_url(db_url)
    yield s
    s.close()


def test_customers_and_lookup(shop):
    cid = shop.add_customer("jane@example.com", first_name="Jane")
    ref = shop.find_customer(email="jane@example.com")
    assert ref.id == cid and ref.email == "jane@example.com"
    assert "jane" not in repr(ref)
    assert shop.find_customer(customer_id=cid).id == cid
    assert shop.find_customer(email="nobody@example.com") is None
    with pytest.raises(InvalidInput):
        shop.find_customer()
    with pytest.raises(InvalidInput):
        shop.add_customer("not-an-address")
    with pytest.raises(NotFoundError):
        shop.customer("c_missing")


def test_marketing_consent_is_applied_once_per_idempotency_key(shop):
    cid = shop.add_customer("jane@example.com")
    at = datetime(2026, 11, 24, tzinfo=timezone.utc)
    sub = MarketingConsentUpdate(list_id="news", subscribed=True, opt_in_level="confirmed_opt_in",
                                 consent_updated_at=at, email="jane@example.com")
    shop.set_marketing_consent(sub, idempotency_key="k1")
    assert shop.customer(cid)["marketing_state"] == "subscribed"
    unsub = MarketingConsentUpdate(list_id="news", subscribed=False, opt_in_level="unknown",
                                   consent_updated_at=at, customer_id=cid)
    shop.set_marketing_consent(unsub, idempotency_key="k2")
    assert shop.customer(cid)["marketing_state"] == "unsubscribed"
    shop.set_marketing_consent(sub, idempotency_key="k1")  # replay of an applied write: no effect
    assert shop.customer(cid)["marketing_state"] == "unsubscribed"
    with pytest.raises(PlatformError) as info:
        shop.set_marketing_consent(MarketingConsentUpdate(list_id="n", subscribed=True, opt_in_level="unknown",
                                                          consent_updated_at=at, email="ghost@example.com"),
                                   idempotency_key="k3")
    assert not info.value.retryable


def test_an_older_consent_arriving_late_never_overwrites_a_newer_one(shop):
    cid = shop.add_customer("jane@example.com")
    opt_in_at = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    opt_out_at = datetime(2026, 11, 24, 12, 0, 1, tzinfo=timezone.utc)
    shop.set_marketing_consent(MarketingConsentUpdate(list_id="news", subscribed=False, opt_in_level="unknown",
                                                      consent_updated_at=opt_out_at, customer_id=cid),
                               idempotency_key="out")
    late = MarketingConsentUpdate(list_id="news", subscribed=True, opt_in_level="confirmed_opt_in",
                                  consent_updated_at=opt_in_at, customer_id=cid)
    shop.set_marketing_consent(late, idempotency_key="in")  # the retry of an earlier opt-in lands last
    held = shop.customer(cid)
    assert held["marketing_state"] == "unsubscribed" and held["marketing_updated_at"] == opt_out_at
    shop.set_marketing_consent(late, idempotency_key="in")  # and stays refused when repeated
    assert shop.customer(cid)["marketing_state"] == "unsubscribed"
    newer = MarketingConsentUpdate(list_id="news", subscribed=True, opt_in_level="confirmed_opt_in",
                                   consent_updated_at=opt_out_at.replace(second=2), customer_id=cid)
    shop.set_marketing_consent(newer, idempotency_key="in-again")
    assert shop.customer(cid)["marketing_state"] == "subscribed"
