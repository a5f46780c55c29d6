"""WooCommerce adapter: bytes received for the due-subscription scan with ``_fields`` vs whole objects.

Both scans page the same in-memory shop (``shopprivacy_woocommerce.testing.FakeWooCommerce`` behind
``responses``, answering with WooCommerce's subscription shape) in the same run; the baseline is the same
paged ``GET /subscriptions?status=active`` without ``_fields``, as an unminimised renewal job would send it.
``SHOPPRIVACY_BENCH_WOOCOMMERCE_N`` sets the number of subscriptions (default 2,000).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from _util import ratio_line

from shopprivacy.renewals import ALLOWED_FIELDS

DUE = datetime(2026, 11, 25, tzinfo=timezone.utc)


def main() -> None:
    try:
        import responses
        from shopprivacy_woocommerce import WooClient, WooCommerceAdapter, WooCommerceOptions
        from shopprivacy_woocommerce.testing import FakeWooCommerce
    except ImportError as exc:
        print(f"skipped: needs shopprivacy-woocommerce and responses installed ({exc.name})")
        return
    n = int(os.environ.get("SHOPPRIVACY_BENCH_WOOCOMMERCE_N", "2000"))
    options = WooCommerceOptions.parse({"site_url": "https://shop.example", "consumer_key": "ck_test_key_123",
                                        "consumer_secret": "cs_test_secret_456"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        shop = FakeWooCommerce("https://shop.example")
        shop.install(mock)
        for i in range(n):
            cid = shop.add_customer(f"jane{i}@example.com")
            shop.add_subscription(cid, next_payment="2026-11-24T09:00:00")
        for label, fields in (("without e-mail", ALLOWED_FIELDS - {"email"}), ("with e-mail", ALLOWED_FIELDS)):
            minimal = WooCommerceAdapter(options, client=WooClient(options))
            seen = sum(1 for _ in minimal.iter_due_subscriptions(due_before=DUE, fields=fields))
            full = WooClient(options)
            for page in range(1, -(-n // 100) + 1):
                full.request("GET", "subscriptions", operation="GET subscriptions (full)",
                             params={"status": "active", "orderby": "id", "order": "asc", "page": page,
                                     "per_page": 100})
            ours, base = minimal.bytes_received, full.bytes_received
            print(ratio_line(f"due scan of {seen:,} subscriptions, bytes received {label}", ours, base,
                             unit="B", target="<= 0.30x"))
            minimal.close()
            full.close()


if __name__ == "__main__":
    main()
