"""shopprivacy adapter for WooCommerce and WooCommerce Subscriptions over the REST API v3.

Install ``shopprivacy-woocommerce`` and set ``SHOPPRIVACY_PLATFORM=woocommerce`` with
``SHOPPRIVACY_PLATFORM_OPTIONS`` (see :class:`WooCommerceOptions` and the README).
"""

from __future__ import annotations

from .adapter import (
    ATTRIBUTION_PREFIX as ATTRIBUTION_PREFIX,
)
from .adapter import (
    CONSENT_META_PREFIX as CONSENT_META_PREFIX,
)
from .adapter import (
    WooCommerceAdapter as WooCommerceAdapter,
)
from .adapter import (
    consent_meta_key as consent_meta_key,
)
from .adapter import (
    create_adapter as create_adapter,
)
from .client import WooClient as WooClient
from .errors import (
    WooAuthError as WooAuthError,
)
from .errors import (
    WooCommerceError as WooCommerceError,
)
from .errors import (
    WooCompanionMissing as WooCompanionMissing,
)
from .errors import (
    WooInvalidRequest as WooInvalidRequest,
)
from .errors import (
    WooNotFound as WooNotFound,
)
from .errors import (
    WooRateLimited as WooRateLimited,
)
from .errors import (
    WooServerError as WooServerError,
)
from .errors import (
    WooSubscriptionLive as WooSubscriptionLive,
)
from .errors import (
    WooUnavailable as WooUnavailable,
)
from .settings import WooCommerceOptions as WooCommerceOptions

__version__ = "0.1.0"

__all__ = [
    "ATTRIBUTION_PREFIX",
    "CONSENT_META_PREFIX",
    "WooAuthError",
    "WooClient",
    "WooCommerceAdapter",
    "WooCommerceError",
    "WooCommerceOptions",
    "WooCompanionMissing",
    "WooInvalidRequest",
    "WooNotFound",
    "WooRateLimited",
    "WooServerError",
    "WooSubscriptionLive",
    "WooUnavailable",
    "__version__",
    "consent_meta_key",
    "create_adapter",
]
