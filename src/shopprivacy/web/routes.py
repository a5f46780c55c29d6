"""The route table the framework integrations mount: every web handler is declared once, here-through.

A capability with pages or endpoints has ``web_routes() -> list[Route]``; the facade names each of them
in :meth:`ShopPrivacy.web_routes`, which collects their routes. Flask and
Django mount the same table, so no handler logic is written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .http import Request, Response

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """One endpoint. ``path`` is below the integration's prefix (default ``/privacy``) unless ``root``.

    ``csrf_exempt`` marks endpoints that must accept a POST with no cookie and no CSRF token (RFC 8058
    one-click unsubscribe, platform webhooks, the consent beacon): integrations switch their CSRF
    protection off for these only. Paths carry no parameters: tokens travel in the query string.
    """

    name: str
    path: str
    methods: tuple[str, ...]
    handler: Handler
    csrf_exempt: bool = False
    root: bool = False

    def full_path(self, prefix: str) -> str:
        return self.path if self.root else prefix.rstrip("/") + self.path
