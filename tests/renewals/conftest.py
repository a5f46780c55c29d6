from datetime import datetime, timedelta, timezone

import pytest

from shopprivacy.platforms.local import LocalShop

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def add_subs(shop, n, *, start=T0, shipping=True, conn=None):
    """``n`` due subscriptions with the clutter of a full platform object."""
    ids = []
    for i in range(n):
        ids.append(shop.add_subscription(
            customer_ref=f"c_{i}", amount="19.90", currency="EUR",
            lines=[{"variant_id": f"v{i % 7}", "quantity": 1, "unit_price": "19.90", "requires_shipping": shipping}],
            interval={"unit": "month", "count": 1}, next_billing_at=start + timedelta(minutes=i),
            shipping_address={"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon", "postal_code": "69001",
                              "country": "FR"},
            email=f"jane{i}@example.com",
            extra={"customer_name": "Jane Doe", "phone": "+33 6 12 34 56 78", "ip_address": "203.0.113.9",
                   "user_agent": "Mozilla/5.0 (X11; Linux)", "attribution": {"utm_source": "ads", "gclid": "x1"},
                   "notes": "leave at the door"},
            conn=conn))
    return ids


@pytest.fixture
def shop(db_url):
    s = LocalShop.from_url(db_url)
    yield s
    s.close()
