"""The Shopify platform adapter: the protocols the core uses, over one shop's Admin GraphQL API.

Implements CustomerDirectory, MarketingConsentSink, MarketingConsentSource, SmsConsentSink, SubscriptionSource,
PersonalDataHost, CustomerRectifier, ErasureVerifier and WebhookReceiver. It does not implement
RenewalOrderCleaner: Shopify creates renewal orders itself from the contract when a billing attempt succeeds,
server-side, so they carry no browser IP address, user agent or visit attribution to clean, and the Admin API has
no mutation to remove an order's client details.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import requests

from .bulk import BulkQuery
from .client import AdminClient
from .consent_import import ConsentSourceOperations
from .customers import CustomerOperations
from .options import ShopifyOptions
from .probe import Level, probe
from .storefront import ShopifyStorefront
from .subscriptions import SubscriptionOperations
from .throttle import CostThrottle
from .webhooks import ShopifyWebhooks

if TYPE_CHECKING:
    from shopprivacy.app import ShopPrivacy
    from shopprivacy.settings import Settings
    from shopprivacy.web.routes import Route


class ShopifyAdapter(CustomerOperations, SubscriptionOperations, ConsentSourceOperations):
    """Adapter entry point name ``shopify``. ``session``, ``sleep`` and ``clock`` are for tests and embedding."""

    name = "shopify"

    def __init__(self, options: ShopifyOptions, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.options = options
        self._probe_session = session  # tests hand in a session; doctor's probe otherwise makes its own
        self.client = AdminClient(options, session=session, sleep=sleep, max_wait=options.max_wait,
                                  throttle=CostThrottle(clock=clock, sleep=sleep))
        self.bulk = BulkQuery(self.client, sleep=sleep, clock=clock)
        self.page_size = options.page_size
        self.bulk_threshold = options.bulk_threshold

    @property
    def bytes_received(self) -> int:
        """Response bytes received from Shopify so far (answers and bulk files)."""
        return self.client.bytes_received

    def doctor(self) -> Iterator[tuple[Level, str]]:
        """``shopprivacy doctor``'s lines for Shopify: one query with a 5 s timeout and no retries (the token,
        the shop's domain and version, the granted scopes)."""
        yield from probe(self.options, session=self._probe_session)

    def attach(self, sp: ShopPrivacy) -> Sequence[Route]:
        """Register the compliance work on ``sp.outbox`` and return the webhook endpoint and the app proxy's
        storefront routes."""
        return [*ShopifyWebhooks(sp, self.options).attach(), *ShopifyStorefront(sp, self.options).routes()]

    def close(self) -> None:
        self.client.close()


def create_adapter(settings: Settings) -> ShopifyAdapter:
    """Entry point factory: options from ``settings.platform_options`` (ConfigurationError names a bad one)."""
    return ShopifyAdapter(ShopifyOptions.from_mapping(settings.platform_options))


__all__ = ["ShopifyAdapter", "create_adapter"]
