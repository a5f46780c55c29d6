"""Options of the WooCommerce adapter, read from ``Settings.platform_options`` and validated once.

``SHOPPRIVACY_PLATFORM_OPTIONS='{"site_url": "https://shop.example", "consumer_key": "ck_...",
"consumer_secret": "cs_...", "webhook_secret": "..."}'``. Errors name the option
(``SHOPPRIVACY_PLATFORM_OPTIONS.consumer_key``); secrets are ``SecretStr`` and never print.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from shopprivacy.platforms import parse_platform_options

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class WooCommerceOptions(BaseModel):
    """``site_url``: the WordPress site (https). ``consumer_key``/``consumer_secret``: a WooCommerce REST key.
    ``webhook_secret``: the secret typed into every webhook of the shop. ``allow_insecure_http``: permit
    ``http://`` (a local test store only). ``timeout``: seconds per request. ``max_retries``: attempts after
    the first on 429/5xx/timeouts. ``max_wait``: the longest ``Retry-After`` waited in-process (longer asks
    are handed to the outbox). ``tax_retention_years``: how long paid orders keep the billing name and
    address on erasure (invoice records). ``hold_entity``: the legal-hold entity for customers with a live
    subscription (see README)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site_url: str
    consumer_key: SecretStr
    consumer_secret: SecretStr
    webhook_secret: SecretStr | None = None
    allow_insecure_http: bool = False
    timeout: float = Field(20.0, gt=0, le=300)
    max_retries: int = Field(4, ge=0, le=10)
    max_wait: float = Field(30.0, ge=0, le=600)
    per_page: int = Field(100, ge=1, le=100)
    tax_retention_years: int = Field(10, ge=0, le=30)
    hold_entity: str = Field("woocommerce_customers", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

    @field_validator("allow_insecure_http", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError("must be true or false")
        return value

    @field_validator("consumer_key", "consumer_secret")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        if len(text) < 8 or any(c.isspace() for c in text):
            raise ValueError("must be a WooCommerce REST key (ck_... / cs_...)")
        return value

    @field_validator("site_url")
    @classmethod
    def _site(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        scheme = parts.scheme.lower()  # schemes are case-insensitive (RFC 3986 3.1): HTTP:// is http://
        if scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be the site's absolute URL such as https://shop.example")
        return urlunsplit(parts._replace(scheme=scheme)).rstrip("/")

    @model_validator(mode="after")
    def _https(self) -> WooCommerceOptions:
        if urlsplit(self.site_url).scheme.lower() != "https" and not self.allow_insecure_http:
            raise ValueError("site_url must use https: WooCommerce keys travel in HTTP Basic auth "
                             "(set allow_insecure_http=true for a local test store only)")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.site_url).hostname or ""

    @classmethod
    def parse(cls, options: Mapping[str, object]) -> WooCommerceOptions:
        """Validate ``platform_options``; a failure raises ConfigurationError naming the option."""
        return parse_platform_options(cls, options, "WooCommerce")


__all__ = ["WooCommerceOptions"]
