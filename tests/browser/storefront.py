"""A storefront on an origin of its own (e.g. ``http://127.0.0.2:<port>``) that embeds the banner with a script
tag only, as a shop on another platform does; the backend with the SDK's routes runs elsewhere."""

from __future__ import annotations

import secrets
import socket
import threading
import urllib.error
import urllib.request
from collections import Counter
from html import escape
from wsgiref.simple_server import make_server

from .shop_app import Quiet, ThreadingServer

STYLE = (b"body{font:16px/1.5 Georgia,serif;margin:0;background:#faf7f2;color:#222}"
         b"header{background:#2d4a3e;color:#fff;padding:1rem 2rem;font:600 1.3rem system-ui,sans-serif}"
         b"main{max-width:44rem;margin:2rem auto;padding:0 1rem}.grid{display:grid;"
         b"grid-template-columns:repeat(3,1fr);gap:1rem}.item{background:#fff;border:1px solid #ddd;padding:1rem;"
         b"border-radius:.4rem;min-height:6rem}")


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Storefront:
    """The storefront's pages: ``/`` embeds the banner from ``backend`` (the SDK's mount URL) with a strict
    Content-Security-Policy naming the backend; ``/track/*`` counts the gated scripts that ran."""

    #: Request headers a proxying storefront passes on (never ``Cookie``, as a platform's app proxy does not).
    FORWARDED = ("Origin", "Sec-Fetch-Site", "Sec-Gpc", "Content-Type", "User-Agent", "Accept-Language",
                 "If-None-Match", "Access-Control-Request-Method", "Access-Control-Request-Headers")

    def __init__(self, host: str, backend: str = "", *, proxy: str | None = None) -> None:
        self.host, self.port = host, free_port(host)
        self.origin = f"http://{host}:{self.port}"
        self.backend = backend.rstrip("/")  # set once the backend has its port
        #: With ``proxy`` (a path such as ``/apps/privacy``) the page embeds the banner from that path of its
        #: own origin, and the storefront forwards it to ``backend`` without cookies either way.
        self.proxy = proxy
        self.forwarded: list[dict[str, str]] = []
        self.hits: Counter[str] = Counter()
        self._server: ThreadingServer | None = None

    def page(self, lang: str, nonce: str) -> str:
        base = escape(self.proxy or self.backend)
        return (f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width,initial-scale=1"><title>Storefront</title>'
                '<link rel="stylesheet" href="/style.css">'
                f'<script src="{base}/consent/consent.js" data-sp-base="{base}" nonce="{nonce}" async></script>'
                '</head><body><header>Green Grocer</header><main><h1>Seasonal boxes</h1>'
                '<p>Fresh from the farm, delivered weekly.</p><div class="grid"><div class="item">Autumn box</div>'
                '<div class="item">Orchard box</div><div class="item">Roots box</div></div>'
                f'<script type="text/plain" data-consent="analytics" nonce="{nonce}">window.__inlineRan = true;'
                '</script><script type="text/plain" data-consent="analytics" data-src="/track/analytics.js"></script>'
                '<script type="text/plain" data-consent="marketing" data-src="/track/marketing.js"></script>'
                '</main></body></html>')

    def csp(self, nonce: str) -> str:
        backend = self.backend.split("/", 3)
        origin = "/".join(backend[:3]) if not self.proxy else ""
        return (f"default-src 'self'; script-src 'self' 'nonce-{nonce}' {origin}; style-src 'self' {origin}; "
                f"connect-src 'self' {origin}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")

    def forward(self, environ, start_response):  # type: ignore[no-untyped-def]
        """Pass a request below ``proxy`` on to the backend, dropping ``Cookie`` and ``Set-Cookie``."""
        assert self.proxy is not None
        url = self.backend + environ["PATH_INFO"][len(self.proxy):]
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
        wire = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            wire["Content-Type"] = environ["CONTENT_TYPE"]
        headers = {k: v for k, v in wire.items() if k in self.FORWARDED}
        self.forwarded.append({"Cookie": wire.get("Cookie", ""), **headers})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        request = urllib.request.Request(url, data=body, headers=headers, method=environ["REQUEST_METHOD"])
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, out, data = answer.status, answer.headers.items(), answer.read()
        except urllib.error.HTTPError as refused:
            status, out, data = refused.code, refused.headers.items(), refused.read()
        kept = [(k, v) for k, v in out if k.lower() not in ("set-cookie", "connection", "transfer-encoding")]
        start_response(f"{status} Proxied", kept)
        return [data]

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        path = environ["PATH_INFO"]
        if self.proxy and path.startswith(self.proxy + "/"):
            return self.forward(environ, start_response)
        query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
        if path == "/":
            nonce = secrets.token_urlsafe(16)
            body = self.page(query.get("lang", "en"), nonce).encode()
            headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                       ("Content-Security-Policy", self.csp(nonce))]
        elif path == "/style.css":
            body, headers = STYLE, [("Content-Type", "text/css")]
        elif path.startswith("/track/"):
            self.hits[path] += 1
            body = f"window.__loaded = (window.__loaded || []).concat({path!r});".encode()
            headers = [("Content-Type", "text/javascript"), ("Cache-Control", "no-store")]
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", headers)
        return [body]

    def start(self) -> Storefront:
        self._server = make_server(self.host, self.port, self, server_class=ThreadingServer,  # type: ignore[assignment]
                                   handler_class=Quiet)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
