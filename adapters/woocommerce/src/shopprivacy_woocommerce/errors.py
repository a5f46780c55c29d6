"""Errors of the WooCommerce adapter: WordPress error JSON mapped onto :class:`PlatformError` subclasses.

WordPress answers failures as ``{"code": "woocommerce_rest_invalid_id", "message": "Invalid ID.",
"data": {"status": 404}}``. The mapping keeps the ``code`` (a fixed identifier) and the HTTP status; it never
copies the ``message`` or the body, which can echo request data such as an e-mail address.
"""

from __future__ import annotations

from typing import Any

from shopprivacy.errors import PlatformAuthError, PlatformError


class WooCommerceError(PlatformError):
    """A WooCommerce REST call failed. ``status`` is the HTTP status (0 when no answer came), ``code`` the
    WordPress error code when the body carried one."""

    def __init__(self, message: str, *, status: int = 0, code: str | None = None,
                 retry_after: float | None = None, retryable: bool = True) -> None:
        super().__init__(message, retry_after=retry_after, retryable=retryable)
        self.status = status
        self.code = code


class WooAuthError(WooCommerceError, PlatformAuthError):
    """401/403: wrong consumer key or secret, or a key without the permission this call needs."""


class WooNotFound(WooCommerceError):
    """404: no such object, or no such route (e.g. WooCommerce Subscriptions is not active)."""


class WooInvalidRequest(WooCommerceError):
    """400/409/422: WooCommerce refused the request as malformed or conflicting."""


class WooRateLimited(WooCommerceError):
    """429: a rate limit (a security plugin, the host or a proxy). ``retry_after`` says when to try again."""


class WooServerError(WooCommerceError):
    """5xx: the shop failed; worth another attempt later."""


class WooUnavailable(WooCommerceError):
    """No usable answer: timeout, connection failure, or a body that is not the JSON WooCommerce sends."""


class WooSubscriptionLive(WooCommerceError):
    """Erasure refused for now: the customer still has a live subscription. Retried (``retry_after``) until
    the subscription is cancelled; the outbox dead-letters it after its attempts run out."""


class WooCompanionMissing(WooCommerceError):
    """The shopprivacy companion plugin (``adapters/woocommerce/wordpress-plugin``) is not active on the shop,
    so orders cannot be anonymised without WooCommerce recomputing their totals and taxes."""


_MAX_CODE = 80


def error_code(body: Any) -> str | None:
    """The WordPress error ``code`` of a parsed body, if it has a short textual one."""
    if isinstance(body, dict):
        code = body.get("code")
        if isinstance(code, str) and 0 < len(code) <= _MAX_CODE and code.replace("_", "").replace("-", "").isalnum():
            return code
    return None


def error_for(status: int, body: Any, *, operation: str, retry_after: float | None = None) -> WooCommerceError:
    """The specific error for an HTTP failure of ``operation`` (a fixed description such as
    ``"GET customers"``); the message names the operation, status and WordPress code only."""
    code = error_code(body)
    text = f"WooCommerce {operation} failed with HTTP {status}" + (f" ({code})" if code else "")
    if status in (401, 403):
        return WooAuthError(text + ": check the consumer key, its secret and its permissions", status=status,
                            code=code, retryable=False)
    if status in (404, 410):
        return WooNotFound(text, status=status, code=code, retryable=False)
    if status == 429:
        return WooRateLimited(text, status=status, code=code, retry_after=retry_after, retryable=True)
    if status >= 500:
        return WooServerError(text, status=status, code=code, retry_after=retry_after, retryable=True)
    return WooInvalidRequest(text, status=status, code=code, retryable=False)


__all__ = ["WooAuthError", "WooCommerceError", "WooInvalidRequest", "WooNotFound", "WooRateLimited",
           "WooServerError", "WooSubscriptionLive", "WooUnavailable", "error_code", "error_for"]
