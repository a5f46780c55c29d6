"""The banner on a Shopify storefront, through the app proxy: routes below ``proxy_path`` (default
``/shopify/proxy`` under the integration's prefix) that Shopify reaches from ``https://{shop}/apps/privacy/...``.

- ``/consent/consent.js``, ``/consent/consent.css``, ``/consent/config``: the banner, its stylesheet and its
  configuration in the page's language (the theme app extension's embed block loads them from the storefront);
- ``/consent`` (POST): the banner's choice, recorded by the SDK's own consent handler; a logged-in customer's
  choice carries their pseudonym;
- ``/do-not-sell`` (GET, POST): the "Do not sell or share my personal information" page; the opt-out is
  recorded against the customer when one is logged in, not only against the browser.

Every request is checked by :func:`~.app_proxy.verify_proxy_query` first: 401 and nothing written unless
Shopify signed it recently, 404 for another shop. A POST the browser itself calls cross-site
(``Sec-Fetch-Site`` other than ``same-origin`` / ``none``, when the proxy passes it on) gets 403.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING

from shopprivacy.consent.service import Choice
from shopprivacy.errors import SignatureError
from shopprivacy.web.http import Request, Response
from shopprivacy.web.pages import page
from shopprivacy.web.routes import Route

from .app_proxy import ProxiedRequest, inner_request, verify_proxy_query
from .customers import customer_gid
from .options import ShopifyOptions

if TYPE_CHECKING:
    from shopprivacy.app import ShopPrivacy

log = logging.getLogger("shopprivacy.shopify.storefront")

#: Categories a "do not sell or share" opt-out denies: sale of data, and sharing for cross-context
#: advertising (marketing), the same two Global Privacy Control denies.
OPT_OUT = frozenset({"marketing", "sale_of_data"})
TEXT = {
    "title": "Do not sell or share my personal information",
    "intro": "We do not sell or share your personal information for cross-context advertising once you opt out "
             "here. Your choice applies to this browser and, when you are logged in, to your customer account.",
    "button": "Opt out of the sale and sharing of my personal information",
    "done": "Your opt-out is recorded. We will not sell or share your personal information.",
    "already": "You have opted out of the sale and sharing of your personal information.",
    "account": "You are logged in: your opt-out is recorded for your customer account too.",
    "back": "Back to the shop",
}


class ShopifyStorefront:
    """The app proxy routes. ``clock`` (seconds since the epoch) is for tests."""

    def __init__(self, sp: ShopPrivacy, options: ShopifyOptions, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.sp, self.options, self.clock = sp, options, clock
        self.secret = options.client_secret.get_secret_value().encode("utf-8")

    def routes(self) -> list[Route]:
        base = self.options.proxy_path
        consent = self.sp.consent_web

        def record(req: Request, proxied: ProxiedRequest) -> Response:
            return consent.record(inner_request(req, "/consent"), subject=self.subject(proxied))

        def read(name: str) -> Callable[[Request, ProxiedRequest], Response]:
            def handler(req: Request, proxied: ProxiedRequest) -> Response:
                inner = inner_request(req, "/consent/" + name)
                return consent.config(inner) if name == "config" else consent.asset(inner)
            return handler

        return [
            Route("shopify_proxy.consent", base + "/consent", ("POST",), self.guard(record), csrf_exempt=True),
            Route("shopify_proxy.config", base + "/consent/config", ("GET",), self.guard(read("config"))),
            Route("shopify_proxy.js", base + "/consent/consent.js", ("GET",), self.guard(read("consent.js"))),
            Route("shopify_proxy.css", base + "/consent/consent.css", ("GET",), self.guard(read("consent.css"))),
            Route("shopify_proxy.do_not_sell", base + "/do-not-sell", ("GET", "POST"), self.guard(self.do_not_sell),
                  csrf_exempt=True),
        ]

    def subject(self, proxied: ProxiedRequest) -> str | None:
        """The logged-in customer's keyed pseudonym (the one the webhooks log), or ``None``."""
        if proxied.customer_id is None:
            return None
        return self.sp.pseudonym(customer_gid(proxied.customer_id), namespace="customer")

    def guard(self, handler: Callable[[Request, ProxiedRequest], Response]) -> Callable[[Request], Response]:
        """``handler`` behind the app proxy signature: it runs only for a fresh request Shopify signed for
        this shop."""
        def guarded(req: Request) -> Response:
            try:
                proxied = verify_proxy_query(self.secret, req.query_string, now=self.clock(),
                                             max_age=self.options.proxy_max_age)
            except SignatureError as exc:
                log.info("shopify app proxy request refused: %s", exc)
                return Response.text("invalid or expired app proxy signature", status=401)
            if proxied.shop != self.options.shop:
                return Response.text("not a shop served here", status=404)
            site = req.header("sec-fetch-site")
            if req.method == "POST" and site is not None and site not in ("same-origin", "none"):
                return Response.text("choices must be sent from the shop's own pages", status=403)
            return handler(req, proxied)
        return guarded

    # -- do not sell or share ------------------------------------------------------------------------------
    def do_not_sell(self, req: Request, proxied: ProxiedRequest) -> Response:
        """GET: the page with the opt-out form (the banner script, loaded through the proxy, turns the form
        into a choice that keeps the visitor's other categories and tells Shopify's Customer Privacy API).
        POST without script: the opt-out recorded as denying every optional category (the proxy passes no
        cookie, so the browser's earlier choice is unknown), for the customer when one is logged in."""
        subject = self.subject(proxied)
        base = proxied.path_prefix or "/apps/privacy"
        status = ""
        if req.method == "POST":
            consent = self.sp.consent
            gpc = (req.header("sec-gpc") or "").strip() == "1"
            consent.record_signed(Choice(granted=frozenset(), method="reject_all", gpc=gpc), ip=req.remote_addr,
                                  user_agent=req.header("user-agent"), subject=subject)
            log.info("shopify do-not-sell opt-out recorded%s", " for a customer" if subject else "")
            status = TEXT["done"]
        elif subject is not None and self.opted_out(subject):
            status = TEXT["already"]
        account = f"<p>{escape(TEXT['account'])}</p>" if subject else ""
        body = (f"<p>{escape(TEXT['intro'])}</p>{account}"
                f'<form method="post" action="{escape(base)}/do-not-sell" data-sp-do-not-sell '
                f'data-sp-done="{escape(TEXT["done"])}"><button type="submit">{escape(TEXT["button"])}</button>'
                f'</form><p><a href="/">{escape(TEXT["back"])}</a></p>')
        head = (f'<script src="{escape(base)}/consent/consent.js" data-sp-base="{escape(base)}" async></script>')
        html = page(title=TEXT["title"], body_html=body, locale="en", status_text=status, head_html=head)
        return Response.html(html)

    def opted_out(self, subject: str) -> bool:
        """Whether the customer's latest recorded choice (from any browser) denies the sale of their data."""
        history = self.sp.consent.customer_history(subject)
        return bool(history) and "sale_of_data" in history[-1]["denied"]


__all__ = ["OPT_OUT", "ShopifyStorefront"]
