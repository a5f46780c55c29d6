"""A renewal job for cron, offline on the local reference shop.

    python examples/renewal_job/renew.py ./renewal-demo --seed 25   # create keys, database, subscriptions
    python examples/renewal_job/renew.py ./renewal-demo --dry-run   # what would be billed and minimised
    python examples/renewal_job/renew.py ./renewal-demo             # bill, then enforce retention

The adapter is the one the settings choose: ``SHOPPRIVACY_*`` variables (``SHOPPRIVACY_PLATFORM=shopify`` with
its options, ``SHOPPRIVACY_DATABASE_URL``, ``SHOPPRIVACY_KEYSET_FILE``...) win over the folder's defaults, which
run offline on the local reference shop (``--seed`` adds subscriptions there only).

In production the same job is ``shopprivacy renewals run`` and ``shopprivacy run-due`` from cron, with
``SHOPPRIVACY_*`` settings naming the platform; ``tasks.py`` beside this file is the Celery variant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.platforms.local import LocalShop
from shopprivacy.renewals import RenewalRecord


def seed(shop: LocalShop, n: int, now: datetime) -> None:
    """Subscriptions as a platform stores them: with IP address, user agent and attribution."""
    for i in range(n):
        shop.add_subscription(
            customer_ref=f"c_{i}", amount="24.00", currency="EUR",
            lines=[{"variant_id": "coffee-1kg", "quantity": 1, "unit_price": "24.00", "requires_shipping": True}],
            interval={"unit": "month", "count": 1}, next_billing_at=now - timedelta(hours=i),
            shipping_address={"name": "Customer", "line1": "1 Main St", "city": "Lyon", "country": "FR"},
            email=f"customer{i}@example.com",
            extra={"ip_address": "203.0.113.9", "user_agent": "Mozilla/5.0", "attribution": {"utm_source": "ads"},
                   "phone": "+33 6 00 00 00 00", "notes": "gift"})


def shipping_fee(record: RenewalRecord) -> str:
    """Shop code that stays inside the allow-list (see tests: assert_within_allow_list)."""
    return "0.00" if record.amount >= 20 else "4.90"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0, help="add N due subscriptions first")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    keyfile = args.folder / "keys.json"
    defaults = {"SHOPPRIVACY_DATABASE_URL": f"sqlite:///{args.folder / 'sp.db'}",
                "SHOPPRIVACY_PLATFORM_OPTIONS": json.dumps({"database_url": f"sqlite:///{args.folder / 'shop.db'}"})}
    if not (os.environ.get("SHOPPRIVACY_KEYSET") or os.environ.get("SHOPPRIVACY_KEYSET_FILE")):
        if not keyfile.exists():
            Keyset.generate().write(keyfile)
        defaults["SHOPPRIVACY_KEYSET_FILE"] = str(keyfile)
    sp = ShopPrivacy(Settings.from_env({**defaults, **os.environ}))  # the environment wins
    sp.store.upgrade()
    shop = sp.adapter
    if args.seed and not isinstance(shop, LocalShop):
        sp.close()
        parser.error("--seed adds subscriptions to the local reference shop only")
    now = datetime.now(timezone.utc)
    if args.seed and isinstance(shop, LocalShop):
        seed(shop, args.seed, now)
    report = sp.renewals.run(dry_run=args.dry_run, out=print)
    print(", ".join(f"{k} {v}" for k, v in report.counts().items() if v))
    if report.dropped:
        print("dropped field names: " + ", ".join(f"{k} x{v}" for k, v in report.dropped.most_common()))
    if not args.dry_run:
        for line in sp.retention.plan():
            if line.due:
                print(f"retention {line.rule}: {line.due} due")
    sp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
