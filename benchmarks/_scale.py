"""Helpers of the scaling benchmarks (bench_renewals, bench_workers): databases and bulk seeding."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
_CHUNK = 20_000


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh database URL: an SQLite file, or a PostgreSQL schema of its own under
    ``SHOPPRIVACY_BENCH_POSTGRES_URL`` (dropped on exit)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    base = os.environ["SHOPPRIVACY_BENCH_POSTGRES_URL"]
    schema = "bench_" + secrets.token_hex(4)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def kinds() -> list[str]:
    """``sqlite``, and ``postgres`` when ``SHOPPRIVACY_BENCH_POSTGRES_URL`` is set."""
    return ["sqlite", "postgres"] if os.environ.get("SHOPPRIVACY_BENCH_POSTGRES_URL") else ["sqlite"]


def subscription_row(i: int, *, at: datetime = T0) -> dict[str, Any]:
    """A full platform subscription object, with the clutter a renewal must not copy."""
    return dict(
        subscription_id=f"s_{i:08d}", status="active", customer_ref=f"c_{i}", payment_ref=f"pm_{i}",
        amount="19.90", currency="EUR",
        lines=[{"variant_id": "v1", "quantity": 1, "unit_price": "19.90", "requires_shipping": True}],
        interval={"unit": "month", "count": 1}, next_billing_at=at + timedelta(seconds=i),
        shipping_address={"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon", "postal_code": "69001",
                          "country": "FR"},
        email=f"jane{i}@example.com", customer_name="Jane Doe", phone="+33 6 12 34 56 78",
        billing_address={"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon", "postal_code": "69001",
                         "country": "FR", "company": "ACME SARL", "vat": "FR00123456789"},
        ip_address="203.0.113.9", user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101",
        attribution={"utm_source": "newsletter", "utm_campaign": "autumn", "landing": "/coffee?ref=x"},
        notes="leave at the door; ring twice")


def seed_subscriptions(shop: Any, start: int, stop: int) -> None:
    """Insert subscriptions ``start`` .. ``stop - 1`` (all due at ``T0`` + i seconds) in bulk."""
    for lo in range(start, stop, _CHUNK):
        rows = [subscription_row(i) for i in range(lo, min(lo + _CHUNK, stop))]
        with shop.engine.begin() as conn:
            conn.execute(insert(shop.subscriptions), rows)


def machine() -> str:
    """One line naming the machine the numbers were taken on."""
    cpus = os.cpu_count()
    model = ""
    with suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    return f"{cpus} CPU(s) {model}".strip()
