"""The adapter's settings, read from ``Settings.platform_options`` and validated at start.

Option names (``SHOPPRIVACY_PLATFORM_OPTIONS`` keys): ``shop`` (``name.myshopify.com`` or ``name``),
``access_token``, ``api_version``, ``client_secret`` (the app's secret that signs webhooks), and optionally
``page_size``, ``bulk_threshold``, ``timeout``, ``max_wait``, ``webhook_path``, ``proxy_path``, ``proxy_max_age``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from shopprivacy.platforms import parse_platform_options

#: The Admin API versions every document of this adapter is validated against (Shopify's published schemas,
#: ``tests/contracts``). 2026-04 is the first with the billing attempt ``state`` union.
SUPPORTED_API_VERSIONS = ("2026-04", "2026-07", "2026-10")
#: The oldest supported version.
MIN_API_VERSION = SUPPORTED_API_VERSIONS[0]
#: The version pinned when none is configured.
DEFAULT_API_VERSION = SUPPORTED_API_VERSIONS[-1]

_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$")
_VERSION = re.compile(r"^20\d\d-(01|04|07|10)$")


class ShopifyOptions(BaseModel):
    """Validated adapter options. Secrets are :class:`~pydantic.SecretStr`, so they never print."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    shop: str = Field(min_length=1, max_length=120)
    access_token: SecretStr
    client_secret: SecretStr
    api_version: str = DEFAULT_API_VERSION
    #: Contracts per page; with 10 lines each a page of 20 costs about 800 of the 1000 points a query may.
    page_size: int = Field(20, ge=1, le=100)
    #: Use a bulk operation for due scans once the shop has at least this many contracts (0 = never).
    bulk_threshold: int = Field(0, ge=0)
    timeout: float = Field(20.0, gt=0, le=120)
    #: The longest single wait (``Retry-After``, backoff, THROTTLED) slept in-process; a longer one raises a
    #: retryable error carrying ``retry_after``, so the outbox reschedules instead of a delivery sleeping.
    max_wait: float = Field(30.0, ge=0, le=600)
    webhook_path: str = Field("/webhooks/shopify", pattern=r"^/[A-Za-z0-9/_-]{1,100}$")
    #: The app proxy's routes below the integration prefix: the app's proxy URL is the backend's
    #: ``{public base URL}{prefix}{proxy_path}`` (see the README, "Storefront").
    proxy_path: str = Field("/shopify/proxy", pattern=r"^/[A-Za-z0-9/_-]{1,100}$")
    #: Seconds a signed app proxy request stays acceptable either side of now (Shopify's library allows 90).
    proxy_max_age: int = Field(90, ge=5, le=600)

    @field_validator("shop")
    @classmethod
    def _shop(cls, value: str) -> str:
        value = value.lower().removeprefix("https://").rstrip("/")
        if "." not in value:
            value += ".myshopify.com"
        if not _SHOP.match(value):
            raise ValueError("must be the shop's myshopify.com domain, e.g. example.myshopify.com")
        return value

    @field_validator("access_token", "client_secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().strip()) < 8:
            raise ValueError("is missing or too short")
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("must be a quarterly version such as 2026-10")
        if value not in SUPPORTED_API_VERSIONS:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_API_VERSIONS)} (the versions this adapter's "
                             "queries are validated against; upgrade shopprivacy-shopify for a newer one)")
        return value

    @property
    def endpoint(self) -> str:
        """The Admin GraphQL endpoint of the pinned version."""
        return f"https://{self.shop}/admin/api/{self.api_version}/graphql.json"

    @classmethod
    def from_mapping(cls, options: Mapping[str, object]) -> ShopifyOptions:
        """Validate ``platform_options``; ConfigurationError names the first bad option (never its value)."""
        return parse_platform_options(cls, options, "shopify")


__all__ = ["DEFAULT_API_VERSION", "MIN_API_VERSION", "SUPPORTED_API_VERSIONS", "ShopifyOptions"]
