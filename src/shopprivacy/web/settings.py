"""Settings of the SDK's web endpoints (``SHOPPRIVACY_WEB__*``): clients behind reverse proxies, and the
answer while the database is unavailable."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork


class WebSettings(BaseModel):
    """How the endpoints find the client's address, and what they answer while the database is down.

    Without ``trusted_proxies`` or ``trusted_proxy_hops`` (the default) the peer address is the client and
    forwarding headers are ignored: behind a reverse proxy, set one of them, or every visitor shares the
    proxy's address (and its per-IP rate limit).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Networks of the reverse proxies whose forwarding header is believed, e.g. ``["10.0.0.0/8", "::1/128"]``.
    #: Walking the forwarded chain from the nearest hop, the first address outside them is the client.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    #: Or: the nearest this many hops are proxies whatever their address (a load balancer with changing
    #: addresses, a proxy on a Unix socket). ``1`` means "one proxy in front of the app".
    trusted_proxy_hops: int = Field(0, ge=0, le=10)
    #: The header those proxies write: ``x-forwarded-for`` (nginx, HAProxy, most load balancers) or RFC 7239
    #: ``forwarded``. Only one is read: the other is whatever the client sent.
    proxy_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    #: ``Retry-After`` (seconds) of the 503 answered while the database is unavailable.
    retry_after_seconds: int = Field(30, ge=1, le=3600)
