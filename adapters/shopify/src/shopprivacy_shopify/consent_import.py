"""MarketingConsentSource: the e-mail marketing consent Shopify holds, for ``shopprivacy consent import shopify``.

One cursor-paged query over the shop's customers (``sortKey: ID``, so a resumed import continues where it
stopped) reads each customer's id and default e-mail address with its marketing state, opt-in level and update
time, nothing else. ``Customer.emailMarketingConsent`` (``marketingState``, ``marketingOptInLevel``,
``consentUpdatedAt``) is deprecated in every supported API version in favour of these same facts on
``defaultEmailAddress`` (``marketingUpdatedAt`` is the time Shopify calls ``consentUpdatedAt`` in its consent
input), so the query reads them there. Pacing, retries and throttling are the Admin client's.

Shopify keeps one e-mail marketing consent per customer: each record is for every marketing list (``"*"``) and the
importer maps it onto the list the command names. ``INVALID`` (the address bounced or is malformed) stops
marketing like an unsubscribe. Records are passed on unchecked: the importer refuses a malformed one on its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from shopprivacy.platforms import ConsentPage

from .client import AdminClient
from .errors import ShopifyResponseError

#: Customers per page: the selection is small (cost about 1 per customer), so Shopify's maximum page.
IMPORT_PAGE_SIZE = 100
OPERATION = "CustomersMarketingConsent"
CUSTOMERS_CONSENT = (f"query {OPERATION}($first: Int!, $after: String) {{ "
                     "customers(first: $first, after: $after, sortKey: ID) { nodes { id defaultEmailAddress { "
                     "emailAddress marketingState marketingOptInLevel marketingUpdatedAt } } "
                     "pageInfo { hasNextPage endCursor } } }")
#: ``CustomerEmailAddressMarketingState`` values and the importer's states.
STATES = {"SUBSCRIBED": "subscribed", "UNSUBSCRIBED": "unsubscribed", "PENDING": "pending",
          "NOT_SUBSCRIBED": "not_subscribed", "INVALID": "unsubscribed"}


def consent_record(node: Any) -> dict[str, Any] | None:
    """The import record of one ``customers`` node; None for a customer without an e-mail address."""
    if not isinstance(node, Mapping):
        return {"source": "shopify:?"}  # refused by the importer, and counted
    address = node.get("defaultEmailAddress")
    if address is None:
        return None
    gid = node.get("id")
    source = f"shopify:{gid}" if isinstance(gid, str) else "shopify:?"
    if not isinstance(address, Mapping):
        return {"source": source}
    state, level = address.get("marketingState"), address.get("marketingOptInLevel")
    return {"address": address.get("emailAddress"), "list": "*",
            "state": STATES.get(state, state) if isinstance(state, str) else state,
            "opt_in_level": level.lower() if isinstance(level, str) else "unknown",
            "consented_at": address.get("marketingUpdatedAt"), "source": source,
            "customer_ref": gid if isinstance(gid, str) else None}


class ConsentSourceOperations:
    """MarketingConsentSource over the Admin API."""

    client: AdminClient

    def marketing_consent_pages(self, *, after: str | None, lists: Sequence[str]) -> Iterator[ConsentPage]:
        """The shop's customers with their e-mail marketing consent, ``IMPORT_PAGE_SIZE`` a page, from the page
        after cursor ``after``. ShopifyResponseError when an answer lacks the connection (nothing is guessed)."""
        cursor = after
        while True:
            data = self.client.execute(OPERATION, CUSTOMERS_CONSENT, {"first": IMPORT_PAGE_SIZE, "after": cursor})
            connection = data.get("customers")
            nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
            info = connection.get("pageInfo") if isinstance(connection, Mapping) else None
            if not isinstance(nodes, list) or not isinstance(info, Mapping):
                raise ShopifyResponseError("the answer has no customers connection", operation=OPERATION)
            records = [r for r in map(consent_record, nodes) if r is not None]
            end = info.get("endCursor")
            cursor = end if info.get("hasNextPage") is True and isinstance(end, str) and end else None
            yield ConsentPage(records, cursor)
            if cursor is None:
                return


__all__ = ["CUSTOMERS_CONSENT", "IMPORT_PAGE_SIZE", "STATES", "ConsentSourceOperations", "consent_record"]
