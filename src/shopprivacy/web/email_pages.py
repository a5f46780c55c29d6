"""Pages of e-mail consent: unsubscribe (GET confirms, POST acts: RFC 8058 one-click), opt-in confirmation
and the preference centre. Tokens travel in the query string (``?t=``); no cookie or session is used."""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING

from ..email.records import Meta
from ..errors import ExpiredToken, InvalidInput, NotFoundError, RateLimited, TokenError
from .http import Request, Response
from .i18n import available_locales, catalog, negotiate
from .pages import page
from .routes import Route

if TYPE_CHECKING:
    from ..app import ShopPrivacy

log = logging.getLogger("shopprivacy.web")
PACKAGE = "shopprivacy.email"


class EmailPages:
    """The framework-neutral handlers; mount them through :meth:`web_routes`."""

    def __init__(self, sp: ShopPrivacy) -> None:
        self.sp = sp

    def web_routes(self) -> list[Route]:
        return [
            Route("email.unsubscribe", "/unsubscribe", ("GET", "POST"), self.unsubscribe, csrf_exempt=True),
            Route("email.confirm", "/email/confirm", ("GET", "POST"), self.confirm, csrf_exempt=True),
            Route("email.preferences", "/email/preferences", ("GET", "POST"), self.preferences, csrf_exempt=True),
        ]

    # -- helpers ----------------------------------------------------------------------------------------
    def _locale(self, req: Request) -> str:
        return negotiate(available_locales(PACKAGE), requested=req.query.get("lang"),
                         accept_language=req.header("accept-language"), default=self.sp.settings.default_locale)

    def _page(self, req: Request, title_key: str, body: str, *, status: int = 200, note: str = "") -> Response:
        lang = self._locale(req)
        return Response.html(page(title=catalog(PACKAGE, lang)[title_key], body_html=body, locale=lang,
                                  nonce=req.header("x-csp-nonce"), status_text=note), status=status)

    def _t(self, req: Request) -> dict[str, str]:
        return catalog(PACKAGE, self._locale(req))

    def _error(self, req: Request, exc: Exception, *, action: str = "") -> Response:
        t = self._t(req)
        if isinstance(exc, NotFoundError):
            return self._page(req, "error_title", f"<p>{escape(t['unknown'])}</p>", status=404)
        if isinstance(exc, ExpiredToken) and action:
            return self._page(req, "error_title", f"<p>{escape(t['expired'])}</p>" + action, status=400)
        key = "expired" if isinstance(exc, ExpiredToken) else "invalid"
        return self._page(req, "error_title", f"<p>{escape(t[key])}</p><p>{escape(t['fresh_link'])}</p>",
                          status=400)

    def _meta(self, req: Request, source: str) -> Meta:
        return self.sp.email.meta(source=source, ip=req.remote_addr, user_agent=req.header("user-agent"))

    @staticmethod
    def _form(action: str, token: str, button: str, extra: str = "") -> str:
        return (f'<form method="post" action="{escape(action)}?t={escape(token)}">{extra}'
                f'<button type="submit">{escape(button)}</button></form>')

    # -- unsubscribe --------------------------------------------------------------------------------------
    def unsubscribe(self, req: Request) -> Response:
        """GET shows one button and never unsubscribes (mail scanners prefetch links); POST unsubscribes,
        including RFC 8058 one-click (``List-Unsubscribe=One-Click``) with no cookie or CSRF token."""
        token = req.query.get("t", "")
        t = self._t(req)
        try:
            _, list_id = self.sp.email.read_unsubscribe(token)
        except ExpiredToken as exc:
            fresh = self.sp.email.fresh_unsubscribe_token(exc)
            if fresh is None:
                return self._error(req, exc)
            return self._error(req, exc, action=self._form(req.path, fresh, t["unsubscribe_button"]))
        except (TokenError, NotFoundError) as exc:
            return self._error(req, exc)
        name = t["all_lists"] if list_id == "*" else self.sp.email.mailing_list(list_id).name(self._locale(req))
        if req.method == "GET":
            body = f"<p>{escape(t['unsubscribe_question'].format(list=name))}</p>" + self._form(
                req.path, token, t["unsubscribe_button"])
            return self._page(req, "unsubscribe_title", body)
        one_click = req.form().get("List-Unsubscribe") == "One-Click" or b"List-Unsubscribe=One-Click" in req.body
        try:
            self.sp.email.unsubscribe(token, self._meta(req, "one-click" if one_click else "unsubscribe-page"))
        except (TokenError, NotFoundError) as exc:
            return self._error(req, exc)
        return self._page(req, "unsubscribed_title", f"<p>{escape(t['unsubscribed'].format(list=name))}</p>")

    # -- double opt-in ------------------------------------------------------------------------------------
    def confirm(self, req: Request) -> Response:
        """GET shows a confirm button (a prefetch must not confirm); POST confirms and records the proof."""
        token = req.query.get("t", "")
        t = self._t(req)
        if req.method == "GET":
            return self._page(req, "confirm_title", f"<p>{escape(t['confirm_question'])}</p>"
                              + self._form(req.path, token, t["confirm_button"]))
        try:
            change = self.sp.email.confirm_opt_in(token, ip=req.remote_addr, user_agent=req.header("user-agent"))
        except (TokenError, NotFoundError) as exc:
            return self._error(req, exc)
        name = self.sp.email.mailing_list(change.list_id).name(self._locale(req))
        return self._page(req, "confirmed_title", f"<p>{escape(t['confirmed'].format(list=name))}</p>")

    # -- preference centre --------------------------------------------------------------------------------
    def preferences(self, req: Request) -> Response:
        token = req.query.get("t", "")
        t = self._t(req)
        status = ""
        try:
            if req.method == "POST":
                form = req.form()
                wanted = {lid: form.get(f"list_{lid}") == "on" for lid in self.sp.email.settings.lists}
                if form.get("all") == "off":
                    wanted = dict.fromkeys(wanted, False)
                pause = form.get("pause_days") or None
                self.sp.email.update_preferences(token, wanted, pause_days=int(pause) if pause else None,
                                                 meta=self._meta(req, "preference-centre"))
                status = t["saved"]
            _, states = self.sp.email.read_preferences(token)
        except (TokenError, NotFoundError) as exc:
            return self._error(req, exc)
        except (InvalidInput, RateLimited, ValueError) as exc:
            log.info("preference change refused: %s", type(exc).__name__)
            text = str(exc) if isinstance(exc, InvalidInput) else t["invalid"]
            return self._page(req, "error_title", f"<p>{escape(text)}</p>", status=400)
        lang = self._locale(req)
        items = []
        for lid, state in states.items():
            checked = " checked" if state in ("subscribed", "paused") else ""
            label = self.sp.email.mailing_list(lid).name(lang)
            note = f" ({escape(t['state_' + state])})"
            items.append(f'<label><input type="checkbox" name="list_{escape(lid)}"{checked}> '
                         f"{escape(label)}{note}</label>")
        pause = (f'<label>{escape(t["pause_label"])} <select name="pause_days"><option value="">—</option>'
                 '<option value="30">30</option><option value="90">90</option></select></label>')
        body = (f'<form method="post" action="{escape(req.path)}?t={escape(token)}"><fieldset><legend>'
                f'{escape(t["preferences_legend"])}</legend>{"".join(items)}</fieldset>{pause}'
                f'<button type="submit">{escape(t["save_button"])}</button> '
                f'<button type="submit" class="secondary" name="all" value="off">{escape(t["leave_all_button"])}'
                "</button></form>")
        return self._page(req, "preferences_title", body, note=status)
