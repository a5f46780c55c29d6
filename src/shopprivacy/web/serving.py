"""What every SDK endpoint shares, whichever framework mounts it: the client's address behind trusted proxies,
and a 503 with ``Retry-After`` (a short localized page, or JSON) while the database is unavailable.

:meth:`ShopPrivacy.web_routes` hands the integrations routes already wrapped by :class:`Serving`, so Flask,
Django and any other integration behave the same without a line of their own.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from html import escape

from ..errors import DatabaseUnavailable
from .clients import client_address
from .http import Request, Response
from .pages import LocalizedPages
from .routes import Handler, Route
from .settings import WebSettings

log = logging.getLogger("shopprivacy.web")


def wants_json(req: Request) -> bool:
    """Whether the client talks JSON (a JSON body, or ``Accept`` naming JSON and not HTML)."""
    accept = (req.header("accept") or "").lower()
    return req.content_type == "application/json" or ("json" in accept and "text/html" not in accept)


class Serving(LocalizedPages):
    """Wraps route handlers: the request's ``remote_addr`` becomes the client's address (see
    :mod:`.clients`), and :class:`DatabaseUnavailable` becomes a 503 with ``Retry-After``."""

    package = "shopprivacy.web"

    def __init__(self, web: WebSettings, default_locale: str = "en") -> None:
        super().__init__(default_locale)
        self.web = web

    def route(self, route: Route) -> Route:
        """``route`` with its handler wrapped."""
        return replace(route, handler=self.wrap(route.name, route.handler))

    def wrap(self, name: str, handler: Handler) -> Handler:
        def serve(req: Request) -> Response:
            req = replace(req, remote_addr=client_address(req, self.web))
            try:
                return handler(req)
            except DatabaseUnavailable as exc:
                log.warning("%s answered 503: %s", name, exc)
                return self.unavailable(req)

        return serve

    def unavailable(self, req: Request) -> Response:
        """503 with ``Retry-After``: JSON for JSON clients, else a short page in the visitor's language."""
        retry = str(self.web.retry_after_seconds)
        if wants_json(req):
            resp = Response.json({"error": "unavailable", "retry_after": int(retry)}, status=503)
        else:
            resp = self._page(req, "unavailable_title", f"<p>{escape(self._t(req)['unavailable'])}</p>", status=503)
        resp.headers["Retry-After"] = retry
        return resp
