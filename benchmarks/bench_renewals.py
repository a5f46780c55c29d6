"""Renewals: minimisation throughput and memory (10k vs 1M streamed), minimal vs full fetch bytes.

``SHOPPRIVACY_BENCH_RENEWALS_MAX`` lowers the large run (default 1 000 000).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from _util import ratio_line
from sqlalchemy import insert

from shopprivacy.platforms.local import LocalShop
from shopprivacy.renewals import ALLOWED_FIELDS
from shopprivacy.renewals.view import DropCounter, build_view

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def raw_subscriptions(n: int) -> Iterator[dict[str, Any]]:
    """Full platform objects, as an unminimised renewal job would read them."""
    for i in range(n):
        yield {
            "subscription_id": f"s_{i}", "status": "active", "customer_ref": f"c_{i}", "payment_ref": f"pm_{i}",
            "amount": "19.90", "currency": "EUR",
            "lines": [{"variant_id": "v1", "quantity": 1, "unit_price": "19.90", "requires_shipping": True,
                       "title": "Coffee beans", "properties": {"grind": "fine"}}],
            "interval": {"unit": "month", "count": 1}, "next_billing_at": "2026-11-24T09:00:00+00:00",
            "shipping_address": {"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon", "postal_code": "69001",
                                 "country": "FR", "phone": "+33 6 12 34 56 78"},
            "email": f"jane{i}@example.com", "customer_name": "Jane Doe", "phone": "+33 6 12 34 56 78",
            "ip_address": "203.0.113.9", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "attribution": {"utm_source": "ads", "gclid": "abc"}, "note": "leave at the door",
        }


def minimise(n: int) -> float:
    counter = DropCounter()
    started = time.perf_counter()
    for raw in raw_subscriptions(n):
        counter.add(build_view(raw))
    return time.perf_counter() - started


def baseline(n: int) -> float:
    """A hand-written dict filter (no validation): the raw cost of dropping keys."""
    started = time.perf_counter()
    for raw in raw_subscriptions(n):
        {k: v for k, v in raw.items() if k in ALLOWED_FIELDS}
    return time.perf_counter() - started


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fetch_bytes(n: int) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        shop = LocalShop.from_url(f"sqlite:///{tmp}/shop.db")
        rows = []
        for i in range(n):
            rows.append(dict(
                subscription_id=f"s_{i:07d}", status="active", customer_ref=f"c_{i}", payment_ref=f"pm_{i}",
                amount="19.90", currency="EUR",
                lines=[{"variant_id": "v1", "quantity": 1, "unit_price": "19.90", "requires_shipping": True}],
                interval={"unit": "month", "count": 1}, next_billing_at=T0 + timedelta(seconds=i),
                shipping_address={"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon", "postal_code": "69001",
                                  "country": "FR"},
                email=f"jane{i}@example.com", customer_name="Jane Doe", phone="+33 6 12 34 56 78",
                billing_address={"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon", "postal_code": "69001",
                                 "country": "FR", "company": "ACME SARL", "vat": "FR00123456789"},
                ip_address="203.0.113.9", user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101",
                attribution={"utm_source": "newsletter", "utm_campaign": "autumn", "landing": "/coffee?ref=x"},
                notes="leave at the door; ring twice"))
        with shop.engine.begin() as conn:
            conn.execute(insert(shop.subscriptions), rows)
        due = T0 + timedelta(days=30)
        for _ in shop.iter_due_subscriptions(due_before=due, fields=ALLOWED_FIELDS - {"email"}):
            pass
        minimal = shop.bytes_received
        for _ in shop.iter_due_full_objects(due_before=due):
            pass
        full = shop.bytes_received - minimal
        shop.close()
    return minimal, full


def main() -> None:
    large = int(os.environ.get("SHOPPRIVACY_BENCH_RENEWALS_MAX", "1000000"))
    small = min(10_000, large)
    ours, base = minimise(small), baseline(small)
    print(ratio_line(f"minimise {small:,} subscriptions (per record)", ours / small, base / small))
    print(f"minimise {small:,}: {small / ours:,.0f} records/s (target >= 20,000/s)")
    rss_small = rss_mb()
    elapsed = minimise(large)
    growth = rss_mb() - rss_small
    print(f"minimise {large:,}: {large / elapsed:,.0f} records/s in {elapsed:.1f}s; "
          f"peak RSS growth {small:,} -> {large:,}: {growth:.1f} MB (target <= 20 MB)")
    minimal, full = fetch_bytes(10_000)
    print(f"local adapter bytes received for 10,000 due subscriptions: minimal {minimal:,}, full {full:,}, "
          f"{minimal / full:.0%} of full (target <= 30 %)")


if __name__ == "__main__":
    main()
