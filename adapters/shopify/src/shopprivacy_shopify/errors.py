"""Errors of the Shopify adapter: all :class:`~shopprivacy.errors.PlatformError` subclasses.

Messages name the GraphQL operation, error codes and field paths; never the variables, the response data
or Shopify's free-text messages (those may echo an e-mail address or a name back).
"""

from __future__ import annotations

from collections.abc import Sequence

from shopprivacy.errors import PlatformAuthError, PlatformError


class ShopifyError(PlatformError):
    """A call to the Shopify Admin API failed. ``operation`` names the GraphQL operation."""

    def __init__(self, message: str, *, operation: str, retry_after: float | None = None,
                 retryable: bool = True) -> None:
        super().__init__(f"shopify {operation}: {message}", retry_after=retry_after, retryable=retryable)
        self.operation = operation


class ShopifyHTTPError(ShopifyError):
    """An HTTP status other than 200 (``status``), or no answer at all (``status`` is None)."""

    def __init__(self, message: str, *, operation: str, status: int | None,
                 retry_after: float | None = None) -> None:
        retryable = status is None or status == 429 or status >= 500
        super().__init__(message, operation=operation, retry_after=retry_after, retryable=retryable)
        self.status = status


class ShopifyAuthError(ShopifyHTTPError, PlatformAuthError):
    """401/403: the access token is wrong, revoked, or lacks a scope. Retrying cannot help."""


class ShopifyThrottled(ShopifyError):
    """The cost bucket stayed empty through every retry; ``retry_after`` says when it will hold enough."""


class ShopifyGraphQLError(ShopifyError):
    """The answer carried top-level GraphQL ``errors``. ``codes`` holds their ``extensions.code`` values."""

    def __init__(self, *, operation: str, codes: Sequence[str], paths: Sequence[str], count: int) -> None:
        shown = ", ".join(codes) or "no code"
        where = f" at {', '.join(paths)}" if paths else ""
        retryable = any(code in ("INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE") for code in codes)
        super().__init__(f"{count} GraphQL error(s) ({shown}){where}", operation=operation, retryable=retryable)
        self.codes = tuple(codes)
        self.paths = tuple(paths)


class ShopifyUserError(ShopifyError):
    """A mutation answered with ``userErrors``: the input was refused. ``codes`` and ``fields`` name them."""

    def __init__(self, *, operation: str, codes: Sequence[str], fields: Sequence[str]) -> None:
        shown = ", ".join(codes) or "no code"
        on = f" on {', '.join(fields)}" if fields else ""
        super().__init__(f"refused ({shown}){on}", operation=operation, retryable=False)
        self.codes = tuple(codes)
        self.fields = tuple(fields)


class ShopifyBulkError(ShopifyError):
    """A bulk operation failed, was cancelled or expired. ``status`` and ``error_code`` say which."""

    def __init__(self, *, operation: str, status: str, error_code: str | None) -> None:
        super().__init__(f"bulk operation ended {status} ({error_code or 'no error code'})", operation=operation,
                         retryable=status in ("EXPIRED", "CANCELED", "FAILED") and error_code != "ACCESS_DENIED")
        self.status = status
        self.error_code = error_code


class ShopifyResponseError(ShopifyError):
    """The answer was not the JSON shape the query asks for: an HTML page from a proxy, a truncated body, a
    schema change. Retryable: a passing fault clears on a later attempt, and the outbox dead-letters a row
    whose answers stay malformed once its attempts run out."""

    def __init__(self, message: str, *, operation: str) -> None:
        super().__init__(message, operation=operation, retryable=True)


__all__ = ["ShopifyAuthError", "ShopifyBulkError", "ShopifyError", "ShopifyGraphQLError", "ShopifyHTTPError",
           "ShopifyResponseError", "ShopifyThrottled", "ShopifyUserError"]
