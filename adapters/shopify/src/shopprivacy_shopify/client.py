"""Admin GraphQL client: one ``requests.Session``, cost pacing, retries, specific errors, cursor paging.

Connection set-up failures are retried by urllib3's ``Retry`` on the session's adapter (nothing was sent
yet, so that is safe for every request). Everything that needs Shopify's semantics is handled here, with
an injectable ``sleep``: HTTP 429 and 5xx honouring ``Retry-After``, read timeouts, malformed answers (an
HTML page or a truncated body with status 200), and ``THROTTLED`` answers (waiting for the bucket by
``extensions.cost``). Every operation the adapter sends is safe to repeat: reads, state-setting mutations,
and billing attempts carrying an idempotency key.

No single wait is longer than ``max_wait``: when Shopify asks for more (a ``Retry-After`` of an hour), the
retryable error is raised at once with ``retry_after`` set, so an outbox delivery hands the wait back to
the outbox, which reschedules the row, instead of sleeping inside its lease.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import (
    ShopifyAuthError,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyHTTPError,
    ShopifyResponseError,
    ShopifyThrottled,
    ShopifyUserError,
)
from .options import ShopifyOptions
from .throttle import CostThrottle

log = logging.getLogger("shopprivacy.shopify")

USER_AGENT = "shopprivacy-shopify"


#: The longest ``Retry-After`` taken literally (a day); longer asks are read as this.
MAX_RETRY_AFTER = 86_400.0


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return min(seconds, MAX_RETRY_AFTER) if seconds is not None and 0 <= seconds < float("inf") else None


def make_session(options: ShopifyOptions) -> requests.Session:
    """A session with the access token header and connect-error retries."""
    session = requests.Session()
    session.headers.update({"X-Shopify-Access-Token": options.access_token.get_secret_value(),
                            "Content-Type": "application/json", "Accept": "application/json",
                            "User-Agent": USER_AGENT})
    retry = Retry(total=3, connect=3, read=0, status=0, other=0, backoff_factor=0.3, raise_on_status=False)
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


class AdminClient:
    """Sends GraphQL documents to one shop's Admin API."""

    def __init__(self, options: ShopifyOptions, *, session: requests.Session | None = None,
                 throttle: CostThrottle | None = None, sleep: Callable[[float], None] = time.sleep,
                 max_attempts: int = 6, max_backoff: float = 30.0, max_wait: float = 30.0) -> None:
        self.options = options
        self.session = session or make_session(options)
        self.throttle = throttle or CostThrottle(sleep=sleep)
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.max_wait = max_wait
        #: Response body bytes received (GraphQL answers and bulk downloads).
        self.bytes_received = 0
        #: Seconds slept on retries (HTTP 429/5xx, timeouts, THROTTLED).
        self.retry_waited = 0.0

    def close(self) -> None:
        self.session.close()

    # -- one request ------------------------------------------------------------------------------------
    def _backoff(self, attempt: int, hint: float | None) -> float:
        delay = min(self.max_backoff, 0.5 * 2 ** (attempt - 1))
        return max(delay, float(hint)) if hint is not None else float(delay)

    def _wait(self, seconds: float) -> None:
        self.retry_waited += seconds
        self.sleep(seconds)

    def _too_long(self, error: ShopifyError, delay: float) -> bool:
        """True (and ``error.retry_after`` set) when ``delay`` is beyond ``max_wait``: the caller waits instead."""
        if delay <= self.max_wait:
            return False
        error.retry_after = max(delay, error.retry_after or 0.0)
        log.info("shopify %s: asked to wait %.0fs, longer than max_wait; handing the wait back", error.operation,
                 delay)
        return True

    def execute(self, operation: str, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of ``query``; raises a :class:`ShopifyError` subclass naming ``operation``."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}, separators=(",", ":"))
        last: ShopifyError | None = None
        for attempt in range(1, self.max_attempts + 1):
            self.throttle.wait_for(operation)
            try:
                response = self.session.post(self.options.endpoint, data=body.encode("utf-8"),
                                             timeout=(5.0, self.options.timeout))
            except requests.Timeout:
                last = ShopifyHTTPError("timed out", operation=operation, status=None)
            except requests.ConnectionError:
                last = ShopifyHTTPError("connection failed", operation=operation, status=None)
            else:
                self.bytes_received += len(response.content)
                outcome = self._answer(operation, response)
                if isinstance(outcome, dict):
                    return outcome
                last = outcome
            if not last.retryable or attempt == self.max_attempts:
                break
            delay = last.retry_after if isinstance(last, ShopifyThrottled) else self._backoff(attempt, last.retry_after)
            if self._too_long(last, delay or 0.0):
                break
            log.info("shopify %s attempt %s failed (%s); retrying in %.1fs", operation, attempt,
                     type(last).__name__, delay or 0.0)
            self._wait(delay or 0.0)
        assert last is not None
        raise last

    def _answer(self, operation: str, response: requests.Response) -> dict[str, Any] | ShopifyError:
        status = response.status_code
        if status in (401, 403):
            return ShopifyAuthError(f"HTTP {status} (check the access token and its scopes)", operation=operation,
                                    status=status)
        if status != 200:
            return ShopifyHTTPError(f"HTTP {status}", operation=operation, status=status,
                                    retry_after=_retry_after(response))
        try:
            doc = response.json()
        except ValueError:
            return ShopifyResponseError("the answer is not JSON", operation=operation)
        if not isinstance(doc, dict):
            return ShopifyResponseError("the answer is not a JSON object", operation=operation)
        errors = doc.get("errors")
        if errors:
            items = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
            codes = [str(e.get("extensions", {}).get("code", ""))[:60] for e in items
                     if isinstance(e.get("extensions"), dict)]
            if "THROTTLED" in codes:
                delay = self.throttle.throttled_delay(operation, doc.get("extensions"))
                return ShopifyThrottled("throttled by the query cost limit", operation=operation, retry_after=delay)
            self.throttle.observe(operation, doc.get("extensions"))
            paths = [".".join(str(p)[:40] for p in e["path"]) for e in items if isinstance(e.get("path"), list)]
            return ShopifyGraphQLError(operation=operation, codes=[c for c in codes if c], paths=paths[:5],
                                       count=len(items) or 1)
        self.throttle.observe(operation, doc.get("extensions"))
        data = doc.get("data")
        if not isinstance(data, dict):
            return ShopifyResponseError("the answer has no data", operation=operation)
        return data

    # -- helpers ----------------------------------------------------------------------------------------
    def mutate(self, operation: str, query: str, variables: Mapping[str, Any], field: str) -> dict[str, Any]:
        """The payload of mutation ``field``; ShopifyUserError when it carries ``userErrors``."""
        payload = self.execute(operation, query, variables).get(field)
        if not isinstance(payload, dict):
            raise ShopifyResponseError(f"the answer has no {field} payload", operation=operation)
        user_errors = payload.get("userErrors") or []
        if user_errors:
            items = [e for e in user_errors if isinstance(e, dict)]
            codes = [str(e["code"])[:60] for e in items if e.get("code")]
            fields = [".".join(str(p)[:40] for p in e["field"]) for e in items if isinstance(e.get("field"), list)]
            raise ShopifyUserError(operation=operation, codes=codes, fields=fields[:5])
        return payload

    def paginate(self, operation: str, query: str, variables: Mapping[str, Any], path: Sequence[str], *,
                 after: str | None = None) -> Iterator[dict[str, Any]]:
        """Nodes of the connection at ``path`` in ``data``, following ``pageInfo.endCursor`` (``$after``)."""
        while True:
            data: Any = self.execute(operation, query, {**variables, "after": after})
            for key in path:
                data = data.get(key) if isinstance(data, dict) else None
            if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
                raise ShopifyResponseError(f"the answer has no {'.'.join(path)} connection", operation=operation)
            for node in data["nodes"]:
                if isinstance(node, dict):
                    yield node
            info = data.get("pageInfo") or {}
            cursor = info.get("endCursor") if isinstance(info, dict) else None
            if not (isinstance(info, dict) and info.get("hasNextPage") and isinstance(cursor, str) and cursor):
                return
            after = cursor

    def download_lines(self, url: str, *, operation: str) -> Iterator[bytes]:
        """Stream a bulk operation's JSONL file (a signed URL: sent without the access token)."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = requests.get(url, stream=True, timeout=(5.0, self.options.timeout),
                                        headers={"User-Agent": USER_AGENT})
            except (requests.Timeout, requests.ConnectionError):
                error: ShopifyHTTPError = ShopifyHTTPError("download failed", operation=operation, status=None)
            else:
                if response.status_code == 200:
                    with response:
                        try:
                            for line in response.iter_lines():
                                self.bytes_received += len(line) + 1
                                if line.strip():
                                    yield line
                        except requests.RequestException:
                            raise ShopifyHTTPError("download broke off", operation=operation, status=None) from None
                    return
                error = ShopifyHTTPError(f"download HTTP {response.status_code}", operation=operation,
                                         status=response.status_code, retry_after=_retry_after(response))
                response.close()
            delay = self._backoff(attempt, error.retry_after)
            if not error.retryable or attempt == self.max_attempts or self._too_long(error, delay):
                raise error
            self._wait(delay)


__all__ = ["MAX_RETRY_AFTER", "USER_AGENT", "AdminClient", "make_session"]
