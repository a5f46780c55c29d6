"""The route table the framework integrations mount: every web handler is declared once, here-through.

A capability with pages or endpoints has ``web_routes() -> list[Route]``; the facade names each of them
in :meth:`ShopPrivacy.web_routes`, which collects their routes. Flask and Django mount the same table and
answer through :meth:`Route.respond`, so no handler logic is written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..errors import InvalidInput, MalformedRequest
from .http import MAX_BODY_BYTES, Request, Response

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """One endpoint. ``path`` is below the integration's prefix (default ``/privacy``) unless ``root``.

    ``csrf_exempt`` marks endpoints that must accept a POST with no cookie and no CSRF token (RFC 8058
    one-click unsubscribe, platform webhooks, the consent beacon): integrations switch their CSRF
    protection off for these only. Paths carry no parameters: tokens travel in the query string.
    ``max_body`` is the largest body the endpoint accepts (413 beyond); integrations read no more.
    """

    name: str
    path: str
    methods: tuple[str, ...]
    handler: Handler
    csrf_exempt: bool = False
    root: bool = False
    max_body: int = MAX_BODY_BYTES

    def full_path(self, prefix: str) -> str:
        return self.path if self.root else prefix.rstrip("/") + self.path

    def respond(self, req: Request) -> Response:
        """The answer to ``req``: the one entry point integrations call.

        ``HEAD`` is answered as ``GET`` (a prefetch must not act, as a POST would); another method the route
        does not list gets 405. A route answering CORS preflights lists ``OPTIONS`` and its handler answers it
        (:class:`~shopprivacy.web.cors.CrossOrigin`); Flask then leaves ``OPTIONS`` to it.

        A request outside the bounds of :meth:`Request.check`, or whose body its parser refuses
        (:class:`~shopprivacy.errors.MalformedRequest`), gets that error's 4xx and reaches no write; any other
        :class:`~shopprivacy.errors.InvalidInput` out of the handler is a 400 (its transaction was rolled back).
        """
        if req.method == "HEAD" and "GET" in self.methods:
            req = replace(req, method="GET")
        if req.method not in self.methods:
            resp = Response.text("method not allowed", status=405)
            resp.headers["Allow"] = ", ".join(self.methods)
            return resp
        try:
            req.check(max_body=self.max_body)
            return self.handler(req)
        except MalformedRequest as exc:
            return Response.text(str(exc), status=exc.status)
        except InvalidInput as exc:  # input a handler did not check itself, e.g. text the store refuses
            return Response.text(str(exc)[:200], status=400)
