"""MarketingConsentSource: the consent a WooCommerce shop holds, for ``shopprivacy consent import woocommerce``.

WooCommerce core has no marketing-consent field. The consent a shop recorded before the SDK is the customer meta
``shopprivacy_marketing_<list>`` (see :mod:`.consent`: ``{"subscribed": bool, "opt_in_level": ..., "updated_at":
ISO 8601, "source": ...}``), written by the shop's mailing plugin or its own code, which the REST customer carries in
``meta_data``. The customers are paged in id order (``GET wc/v3/customers``, ``role=all``, ``_fields=id,email,
meta_data``); the cursor is the next page's number. Entries the SDK wrote itself (``source`` ``shopprivacy``) are
its own mirror and are left out. An entry of the wrong shape becomes a record the importer refuses and reports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from shopprivacy.platforms import ConsentPage

from .adapter import consent_meta_key
from .client import WooClient, _int_header
from .consent import OWN_SOURCE
from .errors import WooUnavailable
from .mapping import parse_gmt

OPERATION = "GET customers (consent import)"
FIELDS = ("id", "email", "meta_data")


def consent_records(customer: Mapping[str, Any], lists: Sequence[str]) -> list[dict[str, Any]]:
    """The import records of one REST customer: one per list in ``lists`` whose meta it carries."""
    cid = customer.get("id")
    source = f"woocommerce:customer/{cid}" if isinstance(cid, int) and not isinstance(cid, bool) else "woocommerce:?"
    meta = customer.get("meta_data")
    entries = {m.get("key"): m.get("value") for m in meta if isinstance(m, Mapping)} if isinstance(meta, list) else {}
    out = []
    for lid in lists:
        value = entries.get(consent_meta_key(lid))
        if value is None:
            continue
        record: dict[str, Any] = {"address": customer.get("email"), "list": lid, "source": source,
                                  "customer_ref": str(cid) if source != "woocommerce:?" else None}
        if not isinstance(value, Mapping) or not isinstance(value.get("subscribed"), bool):
            out.append({**record, "state": "malformed meta"})  # refused by the importer, and reported
            continue
        if value.get("source") == OWN_SOURCE:
            continue
        raw_at = value.get("updated_at")
        at = parse_gmt(raw_at)
        level = value.get("opt_in_level")
        out.append({**record, "state": "subscribed" if value["subscribed"] else "unsubscribed",
                    "opt_in_level": level if isinstance(level, str) else "unknown",
                    "consented_at": at.isoformat() if at is not None else raw_at})
    return out


def consent_pages(client: WooClient, *, after: str | None, lists: Sequence[str]) -> Iterator[ConsentPage]:
    """The shop's customers' consent meta for ``lists``, ``per_page`` customers a page, from page ``after`` (a page
    number; None: the first). WooUnavailable when an answer is not a list of customers."""
    for lid in lists:
        consent_meta_key(lid)  # refuse a list id the meta key cannot hold before the first request
    page = int(after) if after and after.isascii() and after.isdigit() else 1
    per_page = client.options.per_page
    while True:
        data, headers = client.request("GET", "customers", operation=OPERATION, params={
            "_fields": ",".join(FIELDS), "role": "all", "orderby": "id", "order": "asc", "page": page,
            "per_page": per_page})
        if not isinstance(data, list) or not all(isinstance(c, Mapping) for c in data):
            raise WooUnavailable(f"WooCommerce {OPERATION}: expected a list of customers")
        total = _int_header(headers, "X-WP-TotalPages")
        last = not data or (page >= total if total is not None else len(data) < per_page)
        yield ConsentPage([r for c in data for r in consent_records(c, lists)], None if last else str(page + 1))
        if last:
            return
        page += 1


__all__ = ["FIELDS", "consent_pages", "consent_records"]
