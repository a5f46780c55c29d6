"""A tiny WSGI shop for the browser tests: pages with the banner and gated tags, and every SDK route."""

from __future__ import annotations

import os
import secrets
import threading
from collections import Counter
from html import escape
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from shopprivacy import ShopPrivacy
from shopprivacy.web import Request, Response

TAGS = """
<script src="/probe.js"></script>
<script type="text/plain" data-consent="analytics">window.__inlineRan = true;</script>
<script type="text/plain" data-consent="analytics" data-src="/track/analytics.js"></script>
<script type="text/plain" data-consent="marketing" data-src="/track/marketing.js"></script>
<iframe title="video" data-consent="marketing" data-src="/track/embed.html" width="10" height="10"></iframe>
"""
PROBE = "window.__gcmDefault = JSON.stringify(Array.prototype.slice.call(window.dataLayer[0] || []));"


#: Strict: no 'unsafe-inline', no 'unsafe-eval', no hosts. The banner's two tags carry the nonce.
CSP = ("default-src 'self'; script-src 'self' 'nonce-{n}'; style-src 'self' 'nonce-{n}'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
AXE_PATH = "/test/axe.min.js"  # axe-core served from the shop's origin, so the CSP needs no exception


class ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per connection: a browser's idle preconnect must not block the other requests."""

    daemon_threads = True


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class ShopApp:
    def __init__(self, sp: ShopPrivacy) -> None:
        self.sp = sp
        self.hits: Counter[str] = Counter()
        self.routes = {r.full_path("/privacy"): r for r in sp.web_routes()}

    def page(self, lang: str, nonce: str, req: Request) -> Response:
        consent = self.sp.consent
        # ?denied=: what a signed-in customer's rights request refuses (the integrations pass it the same way)
        banner = consent.banner_html(lang, nonce=nonce, region=req.query.get("region"),
                                     denied=req.query.get("denied", "").split())
        noscript = consent.noscript_html(lang, state=consent.state(req.cookies, req.headers))
        html = (f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width,initial-scale=1">'
                f"<title>Shop</title>{banner}</head><body><header><a href=\"#\" data-sp-consent-open>"
                "Privacy settings</a></header><main><h1>Shop</h1><p>Products.</p>"
                f"{TAGS}</main>{noscript}</body></html>")
        return Response.html(html, headers={"Content-Security-Policy": CSP.format(n=nonce)})

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        path = environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        cookies = dict(c.strip().split("=", 1) for c in environ.get("HTTP_COOKIE", "").split(";") if "=" in c)
        query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
        req = Request(environ["REQUEST_METHOD"], path, query=query, headers=headers, cookies=cookies,
                      body=environ["wsgi.input"].read(length) if length else b"", remote_addr=environ["REMOTE_ADDR"],
                      query_string=environ.get("QUERY_STRING", ""))
        if path.startswith("/track/"):
            self.hits[path] += 1
            kind = "text/html" if path.endswith(".html") else "text/javascript"
            body = f"window.__loaded = (window.__loaded || []).concat({path!r});" if kind != "text/html" else "<p>x</p>"
            resp = Response(200, body.encode(), {"Content-Type": kind, "Cache-Control": "no-store"})
        elif path == "/probe.js":
            resp = Response(200, PROBE.encode(), {"Content-Type": "text/javascript"})
        elif path == AXE_PATH and os.environ.get("SHOPPRIVACY_TEST_AXE"):
            body = Path(os.environ["SHOPPRIVACY_TEST_AXE"]).read_bytes()
            resp = Response(200, body, {"Content-Type": "text/javascript"})
        elif path in self.routes:
            resp = self.routes[path].respond(req)
        elif path == "/":
            resp = self.page(query.get("lang", "en"), secrets.token_urlsafe(16), req)
        else:
            resp = Response.text("not found", status=404)
        reason = {200: "OK", 303: "See Other", 304: "Not Modified"}.get(resp.status, "Status")
        out = list(resp.headers.items()) + [("Set-Cookie", c) for c in resp.set_cookies]
        start_response(f"{resp.status} {reason}", out)
        return [resp.body]


def serve(app: ShopApp, port: int) -> ThreadingServer:
    server = make_server("127.0.0.1", port, app, server_class=ThreadingServer, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server  # type: ignore[return-value]
