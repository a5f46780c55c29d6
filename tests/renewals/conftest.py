import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from shopprivacy.platforms.local import LocalShop

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
UNTIL = T0 + timedelta(days=1)


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


#: A renewal worker in a process of its own: bills through the local shop and, at the ``stop_after``-th
#: charge, writes ``marker`` and hangs (billed on the platform, not yet recorded) so a test can kill it -9.
WORKER = r"""
import json, os, sys, time
from datetime import datetime
from shopprivacy import Settings, ShopPrivacy
from shopprivacy.platforms.local import LocalShop
url, marker, stop_after, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
sp = ShopPrivacy(Settings(database_url=url, keyset=os.environ["KS"]))
shop = LocalShop.from_url(url)
calls = 0
def charge(record, *, idempotency_key):
    global calls
    result = shop.create_billing_attempt(record.subscription_id, idempotency_key=idempotency_key,
                                         origin_time=datetime.fromisoformat("2026-11-01T09:00:00+00:00"))
    calls += 1
    if calls == stop_after:
        open(marker, "w").write("billed")  # billed on the platform, not yet recorded here
        time.sleep(60)
    time.sleep(delay)
    return result
report = sp.renewals.run(shop, charge=charge, until=datetime.fromisoformat(sys.argv[5]))
print(json.dumps(report.counts()))
"""


def spawn_worker(tmp_path, db_url, keyset, marker, stop_after, delay):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "KS": keyset.to_json()}
    return subprocess.Popen([sys.executable, str(script), db_url, str(marker), str(stop_after), str(delay),
                             UNTIL.isoformat()], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(marker, proc, timeout=60.0):
    """Wait until the worker wrote ``marker`` (it is hanging inside a charge)."""
    deadline = time.time() + timeout
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline
        time.sleep(0.05)
