"""A small WooCommerce REST v3 client: HTTPS Basic auth, ``_fields`` on every read, page/per_page paging,
retries with backoff that honour ``Retry-After``, WordPress error JSON mapped to specific exceptions.

Requests go to ``{site_url}/wp-json/{namespace}/{path}``. Connection set-up failures are retried by urllib3's
``Retry`` (nothing reached the shop, so any method is safe); HTTP 429/5xx answers and read timeouts are
retried here, because the wait must honour ``Retry-After`` and be bounded: a shop asking for a longer wait
than ``max_wait`` gets a :class:`~shopprivacy_woocommerce.errors.WooRateLimited` carrying ``retry_after``,
which the outbox turns into a later attempt. Only idempotent methods (GET, PUT, DELETE) are used.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shopprivacy.errors import InvalidInput

from .errors import WooUnavailable, error_for
from .settings import WooCommerceOptions

log = logging.getLogger("shopprivacy.woocommerce")

WC_NAMESPACE = "wc/v3"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})
_MAX_PAGES = 100_000
_USER_AGENT = "shopprivacy-woocommerce"


def parse_retry_after(value: str | None, *, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.isascii() and text.isdigit():
        return float(min(int(text), 86_400))
    try:
        at = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    current = now() if now is not None else datetime.now(timezone.utc)
    return max(0.0, min((at - current).total_seconds(), 86_400.0))


def object_id(value: object, *, what: str = "object") -> str:
    """A WooCommerce object id as text; anything but a positive integer is refused (no path tricks)."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 20 or int(text) == 0:
        raise InvalidInput(f"a WooCommerce {what} id is a positive integer")
    return text


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


class WooClient:
    """HTTP access to one shop. ``bytes_received`` counts response body bytes (for benchmarks)."""

    def __init__(self, options: WooCommerceOptions, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.options = options
        self.root = options.site_url + "/wp-json/"
        self.session = session or requests.Session()
        self.session.auth = (options.consumer_key.get_secret_value(), options.consumer_secret.get_secret_value())
        self.session.headers.update({"User-Agent": _USER_AGENT, "Accept": "application/json"})
        connect_retry = Retry(total=None, connect=2, read=0, status=0, other=0, redirect=0, backoff_factor=0.2,
                              raise_on_status=False)
        self.session.mount("https://", HTTPAdapter(max_retries=connect_retry))
        if options.allow_insecure_http:
            self.session.mount("http://", HTTPAdapter(max_retries=connect_retry))
        self.sleep = sleep
        self.bytes_received = 0
        self.requests_sent = 0

    def close(self) -> None:
        self.session.close()

    def _backoff(self, attempt: int) -> float:
        cap = min(self.options.max_wait, 0.5 * 2 ** attempt)
        return random.uniform(cap / 2, cap)

    def request(self, method: str, path: str, *, operation: str, params: Mapping[str, Any] | None = None,
                body: Any = None, namespace: str = WC_NAMESPACE) -> tuple[Any, Mapping[str, str]]:
        """Send one call (retrying per the module docstring); return the parsed JSON and the headers.

        ``operation`` is a fixed description (``"GET customers"``) used in error messages instead of the URL,
        which can hold an e-mail address in its query string.
        """
        method = method.upper()
        url = self.root + namespace.strip("/") + "/" + path.lstrip("/")
        attempts = self.options.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                self.requests_sent += 1
                resp = self.session.request(method, url, params=dict(params or {}), json=body,
                                            timeout=self.options.timeout, allow_redirects=False)
            except (requests.Timeout, requests.ConnectionError) as exc:
                if method in _IDEMPOTENT and not last:
                    self.sleep(self._backoff(attempt))
                    continue
                raise WooUnavailable(f"WooCommerce {operation}: no answer ({type(exc).__name__})") from None
            except requests.RequestException as exc:
                raise WooUnavailable(f"WooCommerce {operation}: request failed ({type(exc).__name__})") from None
            content = resp.content or b""
            self.bytes_received += len(content)
            status = resp.status_code
            if 200 <= status < 300:
                try:
                    return (json.loads(content) if content else None), resp.headers
                except ValueError:
                    raise WooUnavailable(f"WooCommerce {operation}: the answer is not JSON "
                                         "(a security plugin or cache page?)", status=status) from None
            if 300 <= status < 400:
                raise WooUnavailable(f"WooCommerce {operation}: redirected (HTTP {status}); check site_url "
                                     "(scheme, www, trailing path)", status=status, retryable=False)
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            if status in RETRY_STATUSES and method in _IDEMPOTENT and not last:
                wait = retry_after if retry_after is not None else self._backoff(attempt)
                if wait <= self.options.max_wait:
                    log.info("WooCommerce %s: HTTP %s, retrying in %.1fs", operation, status, wait)
                    self.sleep(wait)
                    continue
            try:
                parsed = json.loads(content) if content else None
            except ValueError:
                parsed = None
            raise error_for(status, parsed, operation=operation, retry_after=retry_after)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, path: str, *, fields: Iterable[str], operation: str, params: Mapping[str, Any] | None = None,
            namespace: str = WC_NAMESPACE) -> Any:
        """GET with ``_fields`` (required: only what the purpose needs travels)."""
        names = [f for f in fields if f]
        if not names:
            raise InvalidInput("every WooCommerce read names its _fields")
        query = {**dict(params or {}), "_fields": ",".join(names)}
        data, _ = self.request("GET", path, operation=operation, params=query, namespace=namespace)
        return data

    def paginate(self, path: str, *, fields: Iterable[str], operation: str,
                 params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, ``per_page`` at a time, following ``X-WP-TotalPages``."""
        names = [f for f in fields if f]
        if not names:
            raise InvalidInput("every WooCommerce read names its _fields")
        per_page = self.options.per_page
        page = 1
        while page <= _MAX_PAGES:
            query = {**dict(params or {}), "_fields": ",".join(names), "page": page, "per_page": per_page}
            data, headers = self.request("GET", path, operation=operation, params=query)
            if not isinstance(data, list):
                raise WooUnavailable(f"WooCommerce {operation}: expected a list")
            for item in data:
                if not isinstance(item, dict):
                    raise WooUnavailable(f"WooCommerce {operation}: expected objects in the list")
                yield item
            total_pages = _int_header(headers, "X-WP-TotalPages")
            if not data or (total_pages is not None and page >= total_pages) or (
                    total_pages is None and len(data) < per_page):
                return
            page += 1

    def put(self, path: str, body: Mapping[str, Any], *, operation: str) -> Any:
        """PUT a partial update; asks for ``id`` only back."""
        data, _ = self.request("PUT", path, operation=operation, body=dict(body), params={"_fields": "id"})
        return data

    def delete(self, path: str, *, operation: str, params: Mapping[str, Any] | None = None) -> Any:
        data, _ = self.request("DELETE", path, operation=operation, params={**dict(params or {}), "_fields": "id"})
        return data


__all__ = ["RETRY_STATUSES", "WC_NAMESPACE", "WooClient", "object_id", "parse_retry_after"]
