"""``doctor()`` for the Shopify adapter: one cheap authenticated query, with a short timeout and no retries,
turned into one line per finding (what is wrong, and the fix)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import requests
from requests.adapters import HTTPAdapter

from .client import AdminClient, make_session
from .errors import ShopifyAuthError, ShopifyError, ShopifyGraphQLError, ShopifyHTTPError
from .options import ShopifyOptions

Level = Literal["ok", "warning", "problem"]

#: The probe: the shop's name and the scopes granted to the app (costs 2 points).
PROBE = "query ShopPrivacyProbe { shop { name } currentAppInstallation { accessScopes { handle } } }"
#: Seconds the probe waits for a connection and for the answer.
PROBE_TIMEOUT = 5.0
#: The scopes each feature needs (adapters/shopify/README.md, "Scopes"); a ``write_`` scope includes its ``read_``.
FEATURE_SCOPES = {
    "customer lookup and data export": "read_customers",
    "e-mail marketing consent": "write_customers",
    "due scan": "read_own_subscription_contracts",
    "billing attempts": "write_own_subscription_contracts",
    "data export of orders": "read_orders",
    "erasure requests": "write_customer_data_erasure",
}
_OPTIONS = "SHOPPRIVACY_PLATFORM_OPTIONS"


def probe(options: ShopifyOptions, *, session: requests.Session | None = None,
          timeout: float = PROBE_TIMEOUT) -> Iterator[tuple[Level, str]]:
    """(level, message) findings from one query to the shop's Admin API."""
    own = session is None
    if session is None:
        session = make_session(options)
        session.mount("https://", HTTPAdapter(max_retries=0))  # one try: doctor says what is wrong at once
    client = AdminClient(options.model_copy(update={"timeout": timeout}), session=session, max_attempts=1)
    try:
        data = client.execute("ShopPrivacyProbe", PROBE)
    except ShopifyError as exc:
        yield "problem", _explain(exc, options, timeout)
        return
    finally:
        if own:
            client.close()
    shop = data.get("shop")
    name = str(shop.get("name"))[:80] if isinstance(shop, dict) else "?"
    yield "ok", f"Admin API {options.api_version} answered for {options.shop} (shop {name!r})"
    installation = data.get("currentAppInstallation")
    scopes = installation.get("accessScopes") if isinstance(installation, dict) else None
    granted = {s.get("handle") for s in scopes if isinstance(s, dict)} if isinstance(scopes, list) else set()
    granted |= {"read_" + h.removeprefix("write_") for h in granted if isinstance(h, str) and h.startswith("write_")}
    lacking = [f"{scope} ({feature})" for feature, scope in FEATURE_SCOPES.items() if scope not in granted]
    if lacking:
        yield "warning", ("the app's token lacks " + ", ".join(lacking) + ": the features named fail with HTTP 403"
                          " or ACCESS_DENIED; add the scopes in the app's configuration and reinstall it, or leave"
                          " them out if the shop does not use those features")


def _explain(exc: ShopifyError, options: ShopifyOptions, timeout: float) -> str:
    where = options.shop
    if isinstance(exc, ShopifyAuthError):
        if exc.status == 401:
            return (f"Shopify refused the access token for {where} (HTTP 401): set access_token in {_OPTIONS} to the "
                    "Admin API access token of the app installed on this shop")
        return (f"Shopify refused the request for {where} (HTTP 403): the token lacks a scope or the app is not "
                "installed; see the adapter's README, Scopes")
    if isinstance(exc, ShopifyHTTPError):
        if exc.status is None and "timed out" in str(exc):
            return f"no answer from {where} within {timeout:g} s: check the network, or try again later"
        if exc.status is None:
            return (f"cannot connect to {where}: check shop in {_OPTIONS} (the shop's *.myshopify.com domain) and "
                    "that this machine can reach it over HTTPS")
        if exc.status == 404:
            return (f"no Admin API at {options.endpoint} (HTTP 404): check shop (the *.myshopify.com domain, not the"
                    f" storefront's) and api_version in {_OPTIONS}")
        return f"Shopify answered HTTP {exc.status} for {where}: try again later (status page: shopifystatus.com)"
    if isinstance(exc, ShopifyGraphQLError) and "ACCESS_DENIED" in exc.codes:
        return f"Shopify denied the probe query for {where} (ACCESS_DENIED): the token lacks a scope"
    return f"the Admin API of {where} answered what the adapter cannot read: {exc}"
