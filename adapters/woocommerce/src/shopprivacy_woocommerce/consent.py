"""Marketing consent changed on the WordPress side, read from ``customer.created`` / ``customer.updated``.

WooCommerce core has no marketing-consent field. The consent a shop records on its side (a mailing plugin, the
WordPress plugin, an administrator) is the customer meta the adapter already mirrors to,
``shopprivacy_marketing_<list_id>``, with the value
``{"subscribed": false, "opt_in_level": "unknown", "updated_at": "2026-11-24T09:00:00+00:00", "source": "mailpoet"}``.
WooCommerce's customer webhooks carry the REST customer (``meta_data`` included), so each such entry whose
``source`` is not ``shopprivacy`` (the SDK's own mirror, echoed back by the same webhook) is a change made on the
platform: it is applied to ``sp.email`` with its ``updated_at`` as the proof time, unless the SDK holds a newer
state, and never mirrored back. Entries of lists the shop does not declare, or of transactional lists, are
skipped; an entry of the wrong shape is skipped too (it is the shop's data, signed: refusing the delivery would
only make WooCommerce retry it and, after five failures, disable the webhook).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .adapter import consent_meta_key
from .mapping import parse_gmt

#: The customer topics that carry the REST customer and its ``meta_data``.
CUSTOMER_TOPICS = frozenset({"customer.created", "customer.updated"})
#: The ``source`` the adapter writes into the meta it mirrors: changes carrying it are the SDK's own.
OWN_SOURCE = "shopprivacy"
LEVELS = frozenset({"single_opt_in", "confirmed_opt_in", "unknown"})
_ADDRESS = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_SOURCE = re.compile(r"^[A-Za-z0-9 ._:/-]{1,60}$")


def consent_changes(payload: Mapping[str, Any], lists: Iterable[str]) -> list[dict[str, Any]]:
    """The platform's consent changes in a customer payload, one per declared list: ``list``, ``subscribed``,
    ``level``, ``at`` (ISO 8601 or None) and ``from`` (the meta's ``source``). Empty when there are none."""
    meta = payload.get("meta_data")
    if not isinstance(meta, list):
        return []
    keys = {consent_meta_key(lid): lid for lid in lists}
    found: dict[str, dict[str, Any]] = {}
    for entry in meta:
        if not isinstance(entry, Mapping) or entry.get("key") not in keys:
            continue
        value = entry.get("value")
        if not isinstance(value, Mapping) or not isinstance(value.get("subscribed"), bool):
            continue
        source = value.get("source")
        if source == OWN_SOURCE or (source is not None and not (isinstance(source, str) and _SOURCE.match(source))):
            continue
        at: datetime | None = parse_gmt(value.get("updated_at"))
        level = value.get("opt_in_level")
        found[keys[entry["key"]]] = {
            "list": keys[entry["key"]], "subscribed": value["subscribed"],
            "level": level if level in LEVELS else "unknown",
            "at": at.isoformat() if at is not None else None, "from": source}
    return list(found.values())


def customer_address(payload: Mapping[str, Any]) -> str | None:
    """The customer's account e-mail address, when it is one."""
    email = payload.get("email")
    return email.strip() if isinstance(email, str) and _ADDRESS.match(email.strip()) else None


__all__ = ["CUSTOMER_TOPICS", "OWN_SOURCE", "consent_changes", "customer_address"]
