"""Endpoints of cookie consent: the consent beacon (JSON from the banner, or the no-script form), the
banner's configuration and static assets, and ``/.well-known/gpc.json``.

The beacon and the configuration answer CORS for the storefront origins listed in
``SHOPPRIVACY_CONSENT__ALLOWED_ORIGINS`` (a banner embedded on another origin by a script tag); any other
cross-origin caller gets 403 and nothing is written."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import replace

from ..errors import InvalidInput
from ..web.cors import CrossOrigin
from ..web.http import Request, Response, accepts_gzip, etags, same_origin, same_origin_url
from ..web.routes import Route
from . import assets
from .service import Consent
from .state import ConsentState

#: The banner's files and their content types (kept for ``shopprivacy.web.consent_pages``).
ASSETS = assets.TYPES
#: Longest signed consent cookie value the beacon reads from a JSON body (the server refuses longer cookies too).
MAX_COOKIE_CHARS = 4096
#: How long browsers and CDNs may keep the banner configuration (a policy change is live within this time).
CONFIG_MAX_AGE = 300


class ConsentPages:
    """Framework-neutral handlers; mount them through :meth:`web_routes`."""

    def __init__(self, consent: Consent) -> None:
        self.consent = consent
        allowed = consent.settings.allowed_origins
        self._beacon_cors = CrossOrigin(consent.public_base_url, allowed, methods=("POST",))
        self._config_cors = CrossOrigin(consent.public_base_url, allowed, methods=("GET",))

    def web_routes(self) -> list[Route]:
        return [
            Route("consent.record", "/consent", ("POST", "OPTIONS"), self.record, csrf_exempt=True),
            Route("consent.config", "/consent/config", ("GET", "OPTIONS"), self.config),
            Route("consent.js", "/consent/consent.js", ("GET",), self.asset),
            Route("consent.css", "/consent/consent.css", ("GET",), self.asset),
            Route("consent.gpc", "/.well-known/gpc.json", ("GET",), self.gpc_json, root=True),
        ]

    def _same_origin(self, req: Request) -> bool:
        return same_origin(req, self.consent.public_base_url)

    def record(self, req: Request, *, subject: str | None = None) -> Response:
        """Record a choice. JSON bodies come from the banner: from the backend's own pages, or from a listed
        storefront origin (CORS; the body then carries the visitor's signed cookie, as the browser sends none
        across origins). Any other origin gets 403. The no-script form must come from the shop's own pages,
        except a rejection. ``subject``: a customer a platform vouched for (a platform adapter's route passes
        it after verifying the platform's signature), kept with the proof row."""
        cors = self._beacon_cors
        if req.method == "OPTIONS":
            return cors.preflight(req)
        consent = self.consent
        current = consent.state(req.cookies, req.headers)
        form = req.content_type == "application/x-www-form-urlencoded"
        if req.content_type == "application/json":
            if cors.verdict(req) == "refused":
                return cors.refusal(req)
            data = req.json()
            if not current.decided and isinstance(data, dict):
                current = self._state_from_body(data.get("cookie"), req) or current
        elif form:
            fields = req.form()
            data = {"method": fields.get("method"), "version": fields.get("version")}
            if fields.get("locale"):
                data["locale"] = fields.get("locale")
            if data["method"] == "accept_all":
                data["granted"] = consent.policy.optional
            if not self._same_origin(req) and data["method"] != "reject_all":
                lang = consent.locale_for(fields.get("locale"), req.header("accept-language"))
                return Response.text(self.consent.texts(lang)["form_refused"], status=403)
        else:
            return cors.decorate(Response.json({"error": "send JSON or a form"}, status=415), req)
        try:
            choice = consent.parse_choice(data)
        except InvalidInput as exc:
            return cors.decorate(Response.json({"error": str(exc)}, status=400), req)
        if choice.page_url is None:
            choice = replace(choice, page_url=req.header("referer"))
        choice = consent.following(choice, current)
        consent_id, value = consent.record_signed(choice, ip=req.remote_addr, user_agent=req.header("user-agent"),
                                                  subject=subject)
        if form:  # back to the page the form was on, only when it is one of the shop's own
            resp = Response.redirect(same_origin_url(req.header("referer"), consent.public_base_url) or "/")
        else:
            cookie = {"name": consent.settings.cookie_name, "value": value, "max_age": consent.cookie_max_age}
            resp = cors.decorate(Response.json({"consent_id": consent_id, "granted": sorted(choice.granted),
                                                "method": choice.method, "cookie": cookie}), req)
        resp.set_cookies.append(consent.set_cookie_header(value))
        resp.set_cookies.extend(consent.expire_headers(req.cookies, choice.granted))
        return resp

    def _state_from_body(self, raw: object, req: Request) -> ConsentState | None:
        """The consent in a body's ``cookie`` field (the banner's own first-party cookie on another origin),
        when it is a valid signed value for the current policy; anything else is ignored, as if absent."""
        if not isinstance(raw, str) or not raw or len(raw) > MAX_COOKIE_CHARS:
            return None
        state = self.consent.state({self.consent.settings.cookie_name: raw}, req.headers)
        return state if state.decided else None

    def config(self, req: Request) -> Response:
        """``GET /consent/config?locale=``: the banner configuration for a page that embeds the banner with a
        script tag only, gzip-encoded when the client accepts it. ``locale`` is the page's language tag, or the
        browser's languages best first (``ja,en-US``); without it the request's ``Accept-Language`` decides (and
        the answer varies by it); else the shop's default. The endpoint URL is absolute. Public and cacheable;
        CORS for the listed origins."""
        cors = self._config_cors
        if req.method == "OPTIONS":
            return cors.preflight(req)
        if cors.verdict(req) == "refused":
            return cors.refusal(req)
        asked = req.query.get("locale") or None
        lang = self.consent.locale_for(asked, accept_language=asked or req.header("accept-language"))
        body = json.dumps(self.consent.config(lang), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        gz = accepts_gzip(req.header("accept-encoding"))
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + ('-gz"' if gz else '"')
        headers = {"Content-Type": "application/json; charset=utf-8", "ETag": etag, "Content-Language": lang,
                   "Cache-Control": f"public, max-age={CONFIG_MAX_AGE}", "X-Content-Type-Options": "nosniff",
                   "Vary": "Accept-Encoding" if asked else "Accept-Encoding, Accept-Language"}
        if gz:
            headers["Content-Encoding"] = "gzip"
            body = gzip.compress(body, 9, mtime=0)
        if etag in etags(req.header("if-none-match")):
            return cors.decorate(Response(304, b"", headers), req)
        return cors.decorate(Response(200, body, headers), req)

    def asset(self, req: Request) -> Response:
        """``consent.js`` / ``consent.css``: gzip-encoded when the client accepts it, cached a year under the
        current ``?v=`` (a day without it), ``304`` when ``If-None-Match`` names the variant it would get."""
        name = req.path.rsplit("/", 1)[-1]
        if name not in assets.TYPES:
            return Response.text("not found", status=404)
        file = assets.asset(name)
        gz = accepts_gzip(req.header("accept-encoding"))
        etag = file.etag[:-1] + '-gz"' if gz else file.etag
        long_lived = req.query.get("v") == assets.version()
        headers = {"Content-Type": file.content_type, "ETag": etag, "Vary": "Accept-Encoding",
                   "Cache-Control": (f"public, max-age={assets.VERSIONED_MAX_AGE}, immutable" if long_lived
                                     else f"public, max-age={assets.PLAIN_MAX_AGE}"),
                   "X-Content-Type-Options": "nosniff",
                   # public files: a storefront on another origin may load them with crossorigin / integrity
                   "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
        if gz:
            headers["Content-Encoding"] = "gzip"
        if etag in etags(req.header("if-none-match")):
            return Response(304, b"", headers)
        return Response(200, file.gzipped if gz else file.body, headers)

    def gpc_json(self, req: Request) -> Response:
        """``/.well-known/gpc.json``: the shop honours Global Privacy Control."""
        last = self.consent.settings.gpc_last_update.isoformat()
        return Response.json({"gpc": True, "lastUpdate": last}, headers={"Cache-Control": "public, max-age=86400"})
