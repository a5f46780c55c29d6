"""Renewals: a dry renewal run end to end from the local shop's store at 10k / 100k / 1M rows (SQLite, and
PostgreSQL when ``SHOPPRIVACY_BENCH_POSTGRES_URL`` is set), minimisation per record, minimal vs full fetch bytes.

``SHOPPRIVACY_BENCH_RENEWALS_MAX`` lowers the largest table (default 1 000 000).
"""

from __future__ import annotations

import io
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from _scale import T0, database, kinds, seed_subscriptions
from _util import ratio_line
from sqlalchemy import select

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.platforms.local import LocalShop
from shopprivacy.renewals import ALLOWED_FIELDS
from shopprivacy.renewals.view import DropCounter, build_view


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
        seed_subscriptions(shop, 0, n)
        due = T0 + timedelta(days=30)
        for _ in shop.iter_due_subscriptions(due_before=due, fields=ALLOWED_FIELDS - {"email"}):
            pass
        minimal = shop.bytes_received
        for _ in shop.iter_due_full_objects(due_before=due):
            pass
        full = shop.bytes_received - minimal
        shop.close()
    return minimal, full


def raw_read(shop: LocalShop, until: datetime) -> float:
    """Baseline: one plain SELECT of the same columns, streamed in one cursor, rows made dicts (no paging,
    no view)."""
    t = shop.subscriptions
    cols = [t.c[name] for name in ALLOWED_FIELDS if name in t.c]
    started = time.perf_counter()
    with shop.engine.connect() as conn:
        result = conn.execution_options(yield_per=2000).execute(
            select(*cols).where(t.c.status == "active", t.c.next_billing_at < until)
            .order_by(t.c.next_billing_at, t.c.subscription_id))
        for row in result:
            dict(row._mapping)
    return time.perf_counter() - started


def page_at(shop: LocalShop, position: int, until: datetime) -> float:
    """Best time to fetch the page of due subscriptions after row ``position`` (rows are due at T0 + i s)."""
    t = shop.subscriptions
    cursor = (T0 + timedelta(seconds=position), f"s_{position:08d}")
    q = shop._page_query(until, [t.c.subscription_id, t.c.amount], cursor)
    best = float("inf")
    with shop.engine.connect() as conn:
        for _ in range(5):
            started = time.perf_counter()
            conn.execute(q).all()
            best = min(best, time.perf_counter() - started)
    return best


def end_to_end(kind: str, sizes: list[int]) -> None:
    """A dry renewal run (fetch from the shop's store, minimise, count) over a table grown to each size; every
    row is due, so a run reads the whole table. Flat records/s means paging does not grow with the table."""
    with database(kind) as url:
        shop = LocalShop.from_url(url)
        sp = ShopPrivacy(Settings(database_url=url, keyset=Keyset.generate().to_json()))
        sp.store.upgrade()
        until = T0 + timedelta(days=60)
        have, rates = 0, []
        for n in sizes:
            seed_subscriptions(shop, have, n)
            have = n
            rss = rss_mb()
            started = time.perf_counter()
            report = sp.renewals.run(shop, dry_run=True, until=until, stream=io.StringIO())
            ours = time.perf_counter() - started
            assert report.would_bill == n, report.counts()
            base = raw_read(shop, until)
            rates.append(n / ours)
            print(ratio_line(f"renewal run from {kind} store, {n:,} due (per record)", ours / n, base / n))
            print(f"renewal run {kind} {n:,} rows: {n / ours:,.0f} records/s (target >= 20,000/s, flat); "
                  f"peak RSS growth {max(0.0, rss_mb() - rss):.1f} MB")
        print(f"renewal run {kind}: records/s at {sizes[-1]:,} rows is {rates[-1] / rates[0]:.0%} of that at "
              f"{sizes[0]:,} (flat: >= 80 %; absolute rates move with the machine's load)")
        last = sizes[-1] - shop.page_size - 1
        near, far = page_at(shop, 0, until), page_at(shop, last, until)
        print(ratio_line(f"{kind}: one page of {shop.page_size} after row {last:,} vs after row 0", far, near,
                         target="<= 1.5x: paging does not grow with the position"))
        sp.close()
        shop.close()


def main() -> None:
    large = int(os.environ.get("SHOPPRIVACY_BENCH_RENEWALS_MAX", "1000000"))
    small = min(10_000, large)
    ours, base = minimise(small), baseline(small)
    print(ratio_line(f"minimise {small:,} subscriptions (per record)", ours / small, base / small))
    print(f"minimise {small:,} in memory: {small / ours:,.0f} records/s")
    sizes = sorted({min(n, large) for n in (10_000, 100_000, 1_000_000)})
    for kind in kinds():
        end_to_end(kind, sizes)
    minimal, full = fetch_bytes(10_000)
    print(f"local adapter bytes received for 10,000 due subscriptions: minimal {minimal:,}, full {full:,}, "
          f"{minimal / full:.0%} of full (target <= 30 %)")


if __name__ == "__main__":
    main()
