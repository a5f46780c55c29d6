"""The bodies of Shopify's mandatory compliance webhooks, one model per topic, as Shopify documents them.

Shopify signs the body only, not the ``X-Shopify-Topic`` header, so the topic a body arrives under is checked
against the body itself: each model requires its own topic's keys and refuses the keys that only another
compliance topic's body carries (a ``customers/data_request`` body re-sent as ``customers/redact`` must not
open an erasure; a customer body re-sent as ``shop/redact`` must not remove a shop's data). Unknown keys are
ignored, so fields Shopify adds later do not turn a genuine request away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA_REQUEST, REDACT, SHOP_REDACT = "customers/data_request", "customers/redact", "shop/redact"

ShopifyId = Annotated[int, Field(ge=1, lt=10**20)]
OrderIds = Annotated[list[int], Field(max_length=10_000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    #: Keys that only another compliance topic's body carries.
    foreign_keys: ClassVar[frozenset[str]] = frozenset()

    shop_id: ShopifyId
    shop_domain: str = Field(min_length=1, max_length=120)

    @model_validator(mode="before")
    @classmethod
    def _not_another_topics_body(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            found = cls.foreign_keys.intersection(data)
            if found:
                raise ValueError(f"carries another topic's keys: {', '.join(sorted(found))}")
        return data


class ComplianceCustomer(BaseModel):
    """``customer``: Shopify's numeric id, and the e-mail address and phone number it held (either may be null)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: ShopifyId
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=64)


class DataRequestId(BaseModel):
    """``data_request``: Shopify's id of the merchant's data request."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: ShopifyId


class CustomerRequestBody(_Body):
    """What both customer topics carry: ``shop_id``, ``shop_domain`` and ``customer``."""

    customer: ComplianceCustomer

    @property
    def order_ids(self) -> list[int]:
        """The orders the request names."""
        return []


class DataRequestBody(CustomerRequestBody):
    """``customers/data_request``: ``shop_id``, ``shop_domain``, ``orders_requested``, ``customer``,
    ``data_request``."""

    foreign_keys = frozenset({"orders_to_redact"})

    orders_requested: OrderIds
    data_request: DataRequestId

    @property
    def order_ids(self) -> list[int]:
        return self.orders_requested


class CustomerRedactBody(CustomerRequestBody):
    """``customers/redact``: ``shop_id``, ``shop_domain``, ``customer``, ``orders_to_redact``."""

    foreign_keys = frozenset({"orders_requested", "data_request"})

    orders_to_redact: OrderIds

    @property
    def order_ids(self) -> list[int]:
        return self.orders_to_redact


class ShopRedactBody(_Body):
    """``shop/redact``: ``shop_id`` and ``shop_domain`` only."""

    foreign_keys = frozenset({"customer", "orders_requested", "orders_to_redact", "data_request"})


#: The body model of each compliance topic.
BODIES: dict[str, type[_Body]] = {DATA_REQUEST: DataRequestBody, REDACT: CustomerRedactBody,
                                  SHOP_REDACT: ShopRedactBody}


__all__ = ["BODIES", "DATA_REQUEST", "REDACT", "SHOP_REDACT", "ComplianceCustomer", "CustomerRedactBody",
           "CustomerRequestBody", "DataRequestBody", "DataRequestId", "ShopRedactBody"]
