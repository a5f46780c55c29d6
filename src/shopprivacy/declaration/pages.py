"""Public pages generated from the declaration: the privacy notice (``/notice``) and the cookie policy
(``/cookies``), in the visitor's language. Without a declaration they answer 404."""

from __future__ import annotations

import re

from ..i18n import parse_accept_language
from ..web.http import Request, Response
from ..web.pages import LocalizedPages
from ..web.routes import Route
from .service import Declarations
from .texts import PACKAGE

_FIRST_H1 = re.compile(r"^<h1>.*?</h1>\n", re.S)


class DeclarationPages(LocalizedPages):
    package = PACKAGE

    def __init__(self, declarations: Declarations, default_locale: str = "en") -> None:
        super().__init__(default_locale)
        self.declarations = declarations

    def web_routes(self) -> list[Route]:
        return [Route("declaration.notice", "/notice", ("GET",), self.notice),
                Route("declaration.cookies", "/cookies", ("GET",), self.cookies)]

    def _wanted(self, req: Request) -> str:
        """The visitor's language for the declaration's own texts (they may exist where the catalog does not)."""
        lang = self._requested(req)
        if lang and lang.replace("-", "").isalnum():
            return lang
        tags = parse_accept_language(req.header("accept-language"))
        return tags[0] if tags else self._locale(req)

    def _missing(self, req: Request) -> Response:
        return self._page(req, "notice_title", "", status=404)

    def notice(self, req: Request) -> Response:
        if self.declarations.current is None:
            return self._missing(req)
        doc = self.declarations.notice(self._wanted(req))
        headers = {"Cache-Control": "public, max-age=300", "ETag": f'"{doc.digest[:32]}"'}
        resp = self._page(req, "notice_title", _FIRST_H1.sub("", doc.html, count=1))
        resp.headers.update(headers)
        return resp

    def cookies(self, req: Request) -> Response:
        if self.declarations.current is None:
            return self._missing(req)
        doc = self.declarations.cookie_table(self._wanted(req))
        resp = self._page(req, "cookies_title", _FIRST_H1.sub("", doc.html, count=1))
        resp.headers["Cache-Control"] = "public, max-age=300"
        return resp
