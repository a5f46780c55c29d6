"""Cross-origin access (CORS) to an endpoint for an allow-list of origins, and nothing else.

A browser sends ``Origin`` on every cross-origin ``fetch`` and on same-origin POSTs; it cannot be forged from a
page, nor can ``Sec-Fetch-Site``. :meth:`CrossOrigin.verdict` sorts a request by them:

- ``"direct"``: no ``Origin`` (a same-origin GET, or no browser at all): nothing for CORS to decide;
- ``"same"``: the backend's own origin, or a page the browser calls same-origin (``Sec-Fetch-Site:
  same-origin``: the storefront forwards a path of its own to the backend, as a reverse proxy does);
- ``"allowed"``: a listed origin; the answer names it in ``Access-Control-Allow-Origin``;
- ``"refused"``: any other origin, ``Origin: null`` included.

No credentials are ever allowed: cross-origin callers send no cookie (``credentials: "omit"``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from .http import Request, Response, origin_of

Verdict = Literal["direct", "same", "allowed", "refused"]
#: How long a browser may reuse a granted preflight (Chromium caps this at two hours).
PREFLIGHT_MAX_AGE = 3600


class CrossOrigin:
    """The CORS policy of one endpoint: ``own_url`` is the backend's public base URL; ``allowed`` the listed
    origins, already serialised (``https://shop.example``); ``methods`` what a preflight may ask for."""

    def __init__(self, own_url: str, allowed: Iterable[str], *, methods: tuple[str, ...],
                 headers: tuple[str, ...] = ("Content-Type",)) -> None:
        self.own = origin_of(own_url)
        self.allowed = frozenset(allowed)
        self.methods, self.headers = methods, headers

    def verdict(self, req: Request) -> Verdict:
        origin = req.header("origin")
        if origin is None:
            return "direct"
        lowered = origin.strip().lower()
        if self.own is not None and lowered == self.own:
            return "same"
        if lowered in self.allowed:
            return "allowed"
        if req.header("sec-fetch-site") == "same-origin" and lowered != "null":
            return "same"
        return "refused"

    def preflight(self, req: Request) -> Response:
        """The answer to ``OPTIONS``: 204 granting the listed origin, 403 granting nothing to any other."""
        verdict = self.verdict(req)
        method = (req.header("access-control-request-method") or "").strip().upper()
        if verdict == "refused" or (method and method not in self.methods):
            return self.decorate(Response.text("cross-origin requests from this origin are not allowed",
                                               status=403), req)
        resp = Response(204, b"", {"Cache-Control": "no-store"})
        if verdict == "allowed":
            resp.headers.update({"Access-Control-Allow-Methods": ", ".join(self.methods),
                                 "Access-Control-Allow-Headers": ", ".join(self.headers),
                                 "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE)})
        resp.headers["Allow"] = ", ".join((*self.methods, "OPTIONS"))
        return self.decorate(resp, req)

    def refusal(self, req: Request) -> Response:
        """403 for a request from an origin that is not listed; it reaches no handler, so it writes nothing."""
        return self.decorate(Response.json({"error": "this origin may not call this endpoint"}, status=403), req)

    def decorate(self, resp: Response, req: Request) -> Response:
        """``resp`` with ``Vary: Origin`` and, for a listed origin, ``Access-Control-Allow-Origin``."""
        vary = resp.headers.get("Vary")
        resp.headers["Vary"] = "Origin" if not vary else (vary if "origin" in vary.lower() else vary + ", Origin")
        if self.verdict(req) == "allowed":
            resp.headers["Access-Control-Allow-Origin"] = (req.header("origin") or "").strip().lower()
        return resp
