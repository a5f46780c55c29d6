"""Shopify adapter for shopprivacy (entry point ``shopify`` in group ``shopprivacy.adapters``).

``SHOPPRIVACY_PLATFORM=shopify`` with ``platform_options`` ``shop``, ``access_token``, ``client_secret`` and
optionally ``api_version``, ``page_size``, ``bulk_threshold``, ``timeout``, ``webhook_path``.
"""

from __future__ import annotations

from .adapter import ShopifyAdapter as ShopifyAdapter
from .adapter import create_adapter as create_adapter
from .client import AdminClient as AdminClient
from .errors import ShopifyAuthError as ShopifyAuthError
from .errors import ShopifyBulkError as ShopifyBulkError
from .errors import ShopifyError as ShopifyError
from .errors import ShopifyGraphQLError as ShopifyGraphQLError
from .errors import ShopifyHTTPError as ShopifyHTTPError
from .errors import ShopifyResponseError as ShopifyResponseError
from .errors import ShopifyThrottled as ShopifyThrottled
from .errors import ShopifyUserError as ShopifyUserError
from .options import DEFAULT_API_VERSION as DEFAULT_API_VERSION
from .options import ShopifyOptions as ShopifyOptions
from .throttle import CostThrottle as CostThrottle

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_API_VERSION",
    "AdminClient",
    "CostThrottle",
    "ShopifyAdapter",
    "ShopifyAuthError",
    "ShopifyBulkError",
    "ShopifyError",
    "ShopifyGraphQLError",
    "ShopifyHTTPError",
    "ShopifyOptions",
    "ShopifyResponseError",
    "ShopifyThrottled",
    "ShopifyUserError",
    "__version__",
    "create_adapter",
]
