"""Shopify app proxy: the storefront's own path (``/apps/privacy/...``) that Shopify forwards to the backend.

Shopify forwards a request to ``https://{shop}/apps/privacy/<rest>`` to the app's proxy URL plus ``<rest>``,
adding ``shop``, ``logged_in_customer_id`` (empty when nobody is logged in), ``path_prefix`` and ``timestamp`` to
the query and signing it all in ``signature``: the hex HMAC-SHA256, keyed with the app's client secret, of
every parameter but ``signature`` written ``key=value`` (the values of a repeated parameter joined with
``,``), sorted, and concatenated without separators. :func:`verify_proxy_query` checks exactly that, in
constant time, and a freshness window on ``timestamp`` (90 s either way by default, as Shopify's own library
allows), so a captured URL cannot be replayed later. Like ``@shopify/shopify-api`` it leaves ``hmac`` out of
the signed text and refuses ``hmac``, ``shop``, ``signature`` or ``timestamp`` given twice.

Only a verified request names a customer: ``logged_in_customer_id`` then ties the proof row to the customer
(their keyed pseudonym, never the id). Forged, unsigned or stale requests get 401 and write nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote

from shopprivacy.errors import SignatureError
from shopprivacy.web.http import Request

#: Parameters Shopify sends once; a request repeating one is refused (as Shopify's Node library does for the first
#: four; the customer and the prefix too, since a repeated customer id could name another customer).
SINGLE_VALUE = frozenset({"hmac", "shop", "signature", "timestamp", "logged_in_customer_id", "path_prefix"})
#: Parameters Shopify adds to the forwarded query (removed before the request reaches the SDK's handlers).
PROXY_PARAMS = frozenset({"shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature", "hmac"})
#: Seconds a signed request stays acceptable either side of now (Shopify's library: 90).
DEFAULT_MAX_AGE = 90
#: Most query parameters a proxied request may carry.
MAX_PARAMS = 100
_HEX = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_CUSTOMER = re.compile(r"[0-9]{1,20}")
_PREFIX = re.compile(r"/[A-Za-z0-9/_-]{1,100}")


@dataclass(frozen=True)
class ProxiedRequest:
    """What a verified app proxy request vouches for."""

    shop: str
    #: The logged-in customer's numeric id, or ``None`` for a visitor who is not logged in.
    customer_id: str | None
    #: The storefront path the request came through, e.g. ``/apps/privacy``.
    path_prefix: str | None
    timestamp: int


def query_params(query_string: str) -> dict[str, list[str]]:
    """The query's values per name, in order, decoded as a browser's ``URLSearchParams`` does (``+`` is a
    space, bad UTF-8 becomes U+FFFD). :class:`SignatureError` beyond ``MAX_PARAMS`` parameters."""
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, max_num_fields=MAX_PARAMS, errors="replace")
    except ValueError:
        raise SignatureError("the proxied query has too many parameters") from None
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def signed_text(params: Mapping[str, Sequence[str]]) -> str:
    """The text Shopify signs: ``key=value`` for every parameter but ``signature`` (and ``hmac``), a repeated
    parameter's values joined with ``,``, sorted, concatenated without separators."""
    return "".join(sorted(f"{k}={','.join(v)}" for k, v in params.items() if k not in ("signature", "hmac")))


def proxy_signature(secret: bytes, params: Mapping[str, Sequence[str]]) -> str:
    """The ``signature`` Shopify sends with ``params``: hex HMAC-SHA256 of :func:`signed_text`."""
    return hmac.new(secret, signed_text(params).encode("utf-8"), hashlib.sha256).hexdigest()


def sign_query(secret: bytes, pairs: Iterable[tuple[str, str]]) -> str:
    """``pairs`` as a query string with Shopify's ``signature`` appended (for a stand-in of the proxy in tests
    and local development)."""
    items = list(pairs)
    params: dict[str, list[str]] = {}
    for name, value in items:
        params.setdefault(name, []).append(value)
    items.append(("signature", proxy_signature(secret, params)))
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in items)


def verify_proxy_query(secret: bytes, query_string: str, *, now: float,
                       max_age: int = DEFAULT_MAX_AGE) -> ProxiedRequest:
    """The verified request, or :class:`SignatureError` (missing, repeated, forged or stale signature)."""
    if not secret:
        raise SignatureError("no app secret is configured")
    params = query_params(query_string)
    for name in SINGLE_VALUE & params.keys():
        if len(params[name]) > 1:
            raise SignatureError("a proxy parameter is repeated")
    if any("=" in name for name in params):
        # the signed text joins key=value pairs without separators: a name holding "=" could re-split it
        raise SignatureError("a proxy parameter name contains '='")
    given = params.get("signature", [""])[0]
    timestamp = params.get("timestamp", [""])[0]
    if not given:
        raise SignatureError("the app proxy signature is missing")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("the app proxy timestamp is missing or not a number")
    expected = proxy_signature(secret, params)
    # constant time over the text as given (an upper-case or padded signature is refused, as by Shopify's library)
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
        raise SignatureError("the app proxy signature does not match")
    if abs(now - int(timestamp)) > max_age:
        raise SignatureError("the app proxy request is too old (or from the future)")
    shop = params.get("shop", [""])[0].strip().lower()
    customer = params.get("logged_in_customer_id", [""])[0].strip()
    prefix = params.get("path_prefix", [""])[0]
    return ProxiedRequest(shop=shop, customer_id=customer if _CUSTOMER.fullmatch(customer) else None,
                          path_prefix=prefix if _PREFIX.fullmatch(prefix) else None, timestamp=int(timestamp))


def inner_request(req: Request, path: str) -> Request:
    """``req`` as the SDK's own handler for ``path`` sees it: without the proxy's parameters, and without
    ``Origin`` / ``Sec-Fetch-Site``, which the proxy route has judged already (the browser's request was to the
    storefront's own origin)."""
    params = query_params(req.query_string)
    query = {k: v[0] for k, v in params.items() if k not in PROXY_PARAMS}
    headers = {k: v for k, v in req.headers.items() if k not in ("origin", "sec-fetch-site")}
    return replace(req, path=path, query=query, headers=headers, query_string="")


__all__ = ["DEFAULT_MAX_AGE", "ProxiedRequest", "inner_request", "proxy_signature", "query_params",
           "sign_query", "signed_text", "verify_proxy_query"]
