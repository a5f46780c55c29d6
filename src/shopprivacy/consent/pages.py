"""Endpoints of cookie consent: the consent beacon (JSON from the banner, or the no-script form), the
banner's static assets, and ``/.well-known/gpc.json``."""

from __future__ import annotations

import hashlib
from importlib import resources

from ..errors import InvalidInput
from ..web.http import Request, Response, same_origin, same_origin_url
from ..web.routes import Route
from .service import Choice, Consent

ASSETS = {"consent.js": "text/javascript; charset=utf-8", "consent.css": "text/css; charset=utf-8"}


class ConsentPages:
    """Framework-neutral handlers; mount them through :meth:`web_routes`."""

    def __init__(self, consent: Consent) -> None:
        self.consent = consent
        self._assets: dict[str, tuple[bytes, str]] = {}

    def web_routes(self) -> list[Route]:
        return [
            Route("consent.record", "/consent", ("POST",), self.record, csrf_exempt=True),
            Route("consent.js", "/consent/consent.js", ("GET",), self.asset),
            Route("consent.css", "/consent/consent.css", ("GET",), self.asset),
            Route("consent.gpc", "/.well-known/gpc.json", ("GET",), self.gpc_json, root=True),
        ]

    def _same_origin(self, req: Request) -> bool:
        return same_origin(req, self.consent.public_base_url)

    def record(self, req: Request) -> Response:
        """Record a choice. JSON bodies come from the banner; a cross-site JSON POST needs a CORS preflight
        the SDK never grants. The no-script form must come from the shop's own pages, except a rejection."""
        consent = self.consent
        current = consent.state(req.cookies, req.headers)
        form = req.content_type == "application/x-www-form-urlencoded"
        if req.content_type == "application/json":
            data = req.json()
        elif form:
            fields = req.form()
            data = {"method": fields.get("method"), "version": fields.get("version")}
            if data["method"] == "accept_all":
                data["granted"] = consent.policy.optional
            if not self._same_origin(req) and data["method"] != "reject_all":
                return Response.text("consent forms must be sent from this shop's pages", status=403)
        else:
            return Response.json({"error": "send JSON or a form"}, status=415)
        try:
            choice = consent.parse_choice(data)
        except InvalidInput as exc:
            return Response.json({"error": str(exc)}, status=400)
        choice = Choice(granted=choice.granted, method=choice.method, gpc=choice.gpc or bool(current.gpc),
                        override=choice.override, page_url=choice.page_url or req.header("referer"),
                        consent_id=current.consent_id)
        consent_id, cookie = consent.record(choice, ip=req.remote_addr, user_agent=req.header("user-agent"))
        if form:  # back to the page the form was on, only when it is one of the shop's own
            resp = Response.redirect(same_origin_url(req.header("referer"), consent.public_base_url) or "/")
        else:
            resp = Response.json({"consent_id": consent_id, "granted": sorted(choice.granted)})
        resp.set_cookies.append(cookie)
        resp.set_cookies.extend(consent.expire_headers(req.cookies, choice.granted))
        return resp

    def asset(self, req: Request) -> Response:
        name = req.path.rsplit("/", 1)[-1]
        if name not in ASSETS:
            return Response.text("not found", status=404)
        if name not in self._assets:
            body = resources.files("shopprivacy.consent.static").joinpath(name).read_bytes()
            self._assets[name] = (body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
        body, etag = self._assets[name]
        headers = {"Content-Type": ASSETS[name], "Cache-Control": "public, max-age=86400", "ETag": etag,
                   "X-Content-Type-Options": "nosniff"}
        if req.header("if-none-match") == etag:
            return Response(304, b"", headers)
        return Response(200, body, headers)

    def gpc_json(self, req: Request) -> Response:
        """``/.well-known/gpc.json``: the shop honours Global Privacy Control."""
        last = self.consent.settings.gpc_last_update.isoformat()
        return Response.json({"gpc": True, "lastUpdate": last}, headers={"Cache-Control": "public, max-age=86400"})
