"""SubscriptionSource over Shopify subscription contracts: due scan (paged, or bulk) and billing attempts.

Shopify does not bill contracts by itself: the app decides when and creates a billing attempt with an
idempotency key, which Shopify deduplicates (the same key returns the first attempt). Attempts are
asynchronous: a new attempt is usually *pending*; the renewal runner settles pending attempts later by
calling :meth:`create_billing_attempt` again with the same key, which returns the attempt's current state.

A billing call that ends without a definite answer — the connection failed or timed out after the client's
retries, a 5xx, an internal GraphQL error, or an answer that is not the JSON asked for (an HTML page or a
cut-off body on HTTP 200) — may have created the attempt: it raises :class:`~shopprivacy.errors.OutcomeUnknown`,
so the runner asks again with the same key and never marks the period failed. Only a definite answer settles
it: the attempt's state, ``userErrors``, or a request refused before it ran (401/403, other 4xx, throttling).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from shopprivacy.errors import InvalidInput, OutcomeUnknown
from shopprivacy.platforms import BillingResult

from .bulk import BulkQuery
from .client import AdminClient
from .contracts import (
    LINES_PER_CONTRACT,
    bulk_due_query,
    due_query,
    lines_query,
    obj,
    parse_when,
    to_due,
    unalias,
)
from .errors import ShopifyError, ShopifyGraphQLError, ShopifyHTTPError, ShopifyResponseError

CONTRACT_GID = "gid://shopify/SubscriptionContract/"
_CONTRACT = re.compile(r"^gid://shopify/SubscriptionContract/(\d{1,20})$")

#: The failed state's error union: each member's ``code`` is its own enum type, and GraphQL refuses one
#: response key for fields of different types, so every code gets an alias of its own.
ERROR_CODE_ALIASES = {"SubscriptionBillingAttemptPaymentError": "paymentErrorCode",
                      "SubscriptionBillingAttemptGeneralError": "generalErrorCode",
                      "SubscriptionBillingAttemptInventoryError": "inventoryErrorCode"}

BILL = ("mutation SubscriptionBillingAttemptCreate($id: ID!, $input: SubscriptionBillingAttemptInput!) { "
        "subscriptionBillingAttemptCreate(subscriptionContractId: $id, subscriptionBillingAttemptInput: $input) { "
        "subscriptionBillingAttempt { id state { __typename "
        "... on SubscriptionBillingAttemptSuccessState { order { id } } "
        "... on SubscriptionBillingAttemptFailedState { error { __typename " +
        "".join(f"... on {kind} {{ {key}: code }} " for kind, key in ERROR_CODE_ALIASES.items()) +
        "} } } } userErrors { field message code } } }")


def contract_gid(subscription_id: str) -> str:
    text = str(subscription_id).strip()
    if text.isdigit() and len(text) <= 20:
        return CONTRACT_GID + text
    if _CONTRACT.match(text):
        return text
    raise InvalidInput("not a Shopify subscription contract id")


def billing_result(attempt: Mapping[str, Any]) -> BillingResult:
    """A :class:`BillingResult` from a ``SubscriptionBillingAttempt`` with its ``state`` union."""
    attempt_id = str(attempt.get("id") or "")
    state = obj(attempt.get("state"))
    kind = state.get("__typename")
    if kind == "SubscriptionBillingAttemptSuccessState":
        order = state.get("order")
        return BillingResult(attempt_id, "ready", order_id=order.get("id") if isinstance(order, Mapping) else None)
    if kind == "SubscriptionBillingAttemptFailedState":
        error = obj(state.get("error"))
        member = error.get("__typename")
        # the member's own code; a member without one (SubscriptionBillingAttemptUnexpectedError) by its name
        code = error.get(ERROR_CODE_ALIASES.get(str(member), "")) or member or "unknown"
        return BillingResult(attempt_id, "failed", error_code=str(code)[:60])
    return BillingResult(attempt_id, "pending")  # PendingState, ActionRequiredState (3-D Secure)


class SubscriptionOperations:
    """Due scan and billing attempts (mixed into :class:`~shopprivacy_shopify.ShopifyAdapter`)."""

    client: AdminClient
    page_size: int
    bulk_threshold: int
    bulk: BulkQuery

    def _lines(self, node: dict[str, Any], fields: frozenset[str]) -> list[Mapping[str, Any]]:
        conn = node.get("lines")
        if not isinstance(conn, Mapping):
            return []
        lines: list[Mapping[str, Any]] = [n for n in conn.get("nodes") or [] if isinstance(n, Mapping)]
        info = conn.get("pageInfo") or {}
        if isinstance(info, Mapping) and info.get("hasNextPage"):
            # rare (more than LINES_PER_CONTRACT lines): read them all again, paged, and keep the rest
            every = self.client.paginate("SubscriptionContractLines", lines_query(fields), {"id": node["id"]},
                                         ("subscriptionContract", "lines"))
            lines.extend(line for i, line in enumerate(every) if i >= len(lines))
        return lines

    def _due(self, node: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], due_before: datetime,
             fields: frozenset[str]) -> dict[str, Any] | None:
        if node.get("status") != "ACTIVE":
            return None
        when = parse_when(node.get("nextBillingDate"))
        if when is None or when >= due_before:
            return None
        return to_due(node, lines, fields)

    def iter_due_subscriptions(self, *, due_before: datetime,
                               fields: Collection[str]) -> Iterator[Mapping[str, Any]]:
        """Active contracts billing before ``due_before``, with only ``fields``. Pages by id; past
        ``bulk_threshold`` contracts (when set) the rest of the scan runs as one bulk operation."""
        if due_before.tzinfo is None:
            raise InvalidInput("due_before needs a UTC offset")
        wanted = frozenset(fields) | {"subscription_id"}
        query, after, scanned = due_query(wanted), None, 0
        while True:
            data = self.client.execute("DueSubscriptionContracts", query, {"first": self.page_size, "after": after})
            conn = data.get("subscriptionContracts")
            if not isinstance(conn, Mapping) or not isinstance(conn.get("nodes"), list):
                raise ShopifyResponseError("the answer has no subscriptionContracts",
                                           operation="DueSubscriptionContracts")
            last_id: str | None = None
            for raw in conn["nodes"]:
                node = unalias(raw)
                if not isinstance(node, dict) or not isinstance(node.get("id"), str):
                    continue
                scanned, last_id = scanned + 1, node["id"]
                item = self._due(node, self._lines(node, wanted), due_before, wanted)
                if item is not None:
                    yield _keep(item, fields)
            info = conn.get("pageInfo") or {}
            if not (isinstance(info, Mapping) and info.get("hasNextPage") and info.get("endCursor")):
                return
            if self.bulk_threshold and scanned >= self.bulk_threshold and last_id is not None:
                yield from self.iter_due_subscriptions_bulk(due_before=due_before, fields=fields, after_id=last_id)
                return
            after = str(info["endCursor"])

    def iter_due_subscriptions_bulk(self, *, due_before: datetime, fields: Collection[str],
                                    after_id: str | None = None) -> Iterator[Mapping[str, Any]]:
        """The due scan as one bulk operation (contracts with an id above ``after_id`` when given)."""
        if due_before.tzinfo is None:
            raise InvalidInput("due_before needs a UTC offset")
        wanted = frozenset(fields) | {"subscription_id"}
        extra = ""
        if after_id is not None:
            match = _CONTRACT.match(after_id)
            if match is None:
                raise InvalidInput("after_id must be a subscription contract gid")
            extra = f"id:>{match.group(1)}"
        for node, lines in self.bulk.run(bulk_due_query(wanted, extra_filter=extra)):
            item = self._due(node, lines, due_before, wanted)
            if item is not None:
                yield _keep(item, fields)

    def create_billing_attempt(self, subscription_id: str, *, idempotency_key: str,
                               origin_time: datetime) -> BillingResult:
        """``subscriptionBillingAttemptCreate`` with the idempotency key and origin time."""
        if not idempotency_key or len(idempotency_key) > 200:
            raise InvalidInput("a billing attempt needs an idempotency key of 1-200 characters")
        origin = origin_time if origin_time.tzinfo else origin_time.replace(tzinfo=timezone.utc)
        try:
            payload = self.client.mutate(
                "SubscriptionBillingAttemptCreate", BILL,
                {"id": contract_gid(subscription_id),
                 "input": {"idempotencyKey": idempotency_key,
                           "originTime": origin.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")}},
                "subscriptionBillingAttemptCreate")
            attempt = payload.get("subscriptionBillingAttempt")
            if not isinstance(attempt, Mapping):
                raise ShopifyResponseError("no billing attempt in the answer",
                                           operation="SubscriptionBillingAttemptCreate")
        except ShopifyError as exc:
            if not outcome_unknown(exc):
                raise
            raise OutcomeUnknown(f"{exc} (the attempt may exist: ask again with the same idempotency key)",
                                 retry_after=exc.retry_after) from exc
        return billing_result(attempt)


def outcome_unknown(exc: ShopifyError) -> bool:
    """Whether a failed mutation may still have been applied: no answer (status None), a 5xx, an internal
    GraphQL error, or an answer that could not be read. A refusal before it ran (401/403, other 4xx, throttled)
    and ``userErrors`` are definite."""
    if isinstance(exc, ShopifyResponseError):
        return True
    if isinstance(exc, ShopifyHTTPError):
        return exc.status is None or exc.status >= 500
    return isinstance(exc, ShopifyGraphQLError) and exc.retryable


def _keep(item: dict[str, Any], fields: Collection[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in fields}


__all__ = ["BILL", "CONTRACT_GID", "ERROR_CODE_ALIASES", "LINES_PER_CONTRACT", "SubscriptionOperations",
           "billing_result", "contract_gid", "outcome_unknown"]
