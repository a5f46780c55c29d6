"""The small, accessible HTML page frame every server-rendered page uses (no inline script)."""

from __future__ import annotations

from html import escape
from typing import ClassVar

from ..i18n import available_locales, catalog, direction, negotiate
from .http import Request, Response

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}"
    "main{max-width:40rem;margin:2rem auto;padding:0 1rem}"
    "h1{font-size:1.5rem}button,.button{font:inherit;padding:.6rem 1.2rem;border:2px solid #1a1a1a;"
    "border-radius:4px;background:#1a1a1a;color:#fff;cursor:pointer}"
    "button.secondary{background:#fff;color:#1a1a1a}"
    ":focus-visible{outline:3px solid #0b57d0;outline-offset:2px}"
    "label{display:block;margin:.5rem 0}.error{color:#a50e0e}"
    "@media (prefers-reduced-motion:reduce){*{transition:none!important;animation:none!important}}"
)


def page(*, title: str, body_html: str, locale: str, nonce: str | None = None, status_text: str = "",
         head_html: str = "", body_end_html: str = "") -> str:
    """A complete HTML document. ``body_html``, ``head_html`` and ``body_end_html`` (after ``<main>``, e.g. the
    consent banner's no-script form) must already be escaped; ``title`` is escaped here.

    The style element carries the CSP ``nonce`` when one is given, so pages work under
    ``style-src 'nonce-...'``.
    """
    nonce_attr = f' nonce="{escape(nonce)}"' if nonce else ""
    status = f'<p role="status">{escape(status_text)}</p>' if status_text else ""
    return (
        f'<!doctype html><html lang="{escape(locale)}" dir="{direction(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style{nonce_attr}>{_STYLE}</style>{head_html}</head>"
        f"<body><main><h1>{escape(title)}</h1>{status}{body_html}</main>{body_end_html}</body></html>"
    )


class LocalizedPages:
    """Base of a capability's pages: the visitor's language, its texts, and the page frame with the app's CSP
    nonce. ``package`` names the package whose ``locales/*.json`` hold the texts."""

    package: ClassVar[str]

    def __init__(self, default_locale: str = "en") -> None:
        """``default_locale``: the shop's language when the visitor's is not offered (``Settings.default_locale``)."""
        self.default_locale = default_locale

    @staticmethod
    def _requested(req: Request) -> str | None:
        """The language the visitor picked (``?lang=``), or None when there is none or it is too long for a tag."""
        lang = req.query.get("lang")
        return lang if lang and len(lang) < 36 else None

    def _locale(self, req: Request) -> str:
        return negotiate(available_locales(self.package), requested=self._requested(req),
                         accept_language=req.header("accept-language"), default=self.default_locale)

    def _t(self, req: Request) -> dict[str, str]:
        return catalog(self.package, self._locale(req))

    def _page(self, req: Request, title_key: str, body: str, *, status: int = 200, note: str = "",
              head: str = "", body_end: str = "") -> Response:
        lang = self._locale(req)
        return Response.html(page(title=catalog(self.package, lang)[title_key], body_html=body, locale=lang,
                                  nonce=req.header("x-csp-nonce"), status_text=note, head_html=head,
                                  body_end_html=body_end),
                             status=status)
