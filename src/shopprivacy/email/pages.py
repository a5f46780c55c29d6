"""Pages of e-mail consent: unsubscribe (GET confirms, POST acts: RFC 8058 one-click), opt-in confirmation
and the preference centre. Tokens travel in the query string (``?t=``); no cookie or session is used."""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape
from urllib.parse import urlencode

from ..errors import ExpiredToken, InvalidInput, NotFoundError, RateLimited, TokenError
from ..web.http import Request, Response
from ..web.pages import LocalizedPages
from ..web.routes import Route
from .records import Change, Meta
from .service import Email

log = logging.getLogger("shopprivacy.web")
PACKAGE = "shopprivacy.email"


class EmailPages(LocalizedPages):
    """The framework-neutral handlers; mount them through :meth:`web_routes`."""

    package = PACKAGE

    def __init__(self, email: Email, *, default_locale: str = "en") -> None:
        """``email`` is ``sp.email``; ``default_locale`` the language of a visitor who asks for none we have."""
        super().__init__(default_locale)
        self.email = email

    def web_routes(self) -> list[Route]:
        return [
            Route("email.unsubscribe", "/unsubscribe", ("GET", "POST"), self.unsubscribe, csrf_exempt=True),
            Route("email.confirm", "/email/confirm", ("GET", "POST"), self.confirm, csrf_exempt=True),
            Route("email.preferences", "/email/preferences", ("GET", "POST"), self.preferences, csrf_exempt=True),
        ]

    # -- helpers ----------------------------------------------------------------------------------------
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
        return self.email.subjects.meta(source=source, ip=req.remote_addr, user_agent=req.header("user-agent"))

    @staticmethod
    def _form(action: str, token: str, button: str, extra: str = "") -> str:
        return (f'<form method="post" action="{escape(action)}?{escape(urlencode({"t": token}))}">{extra}'
                f'<button type="submit">{escape(button)}</button></form>')

    # -- unsubscribe --------------------------------------------------------------------------------------
    def unsubscribe(self, req: Request) -> Response:
        """GET shows one button and never unsubscribes (mail scanners prefetch links); POST unsubscribes,
        including RFC 8058 one-click (``List-Unsubscribe=One-Click``) with no cookie or CSRF token."""
        token = req.query.get("t", "")
        t = self._t(req)
        try:
            if req.method == "GET":
                _, list_id = self.email.suppression.read_unsubscribe(token)
            else:
                one_click = req.form().get("List-Unsubscribe") == "One-Click" or \
                    b"List-Unsubscribe=One-Click" in req.body
                list_id = self.email.suppression.unsubscribe(
                    token, self._meta(req, "one-click" if one_click else "unsubscribe-page")).list_id
        except ExpiredToken as exc:
            fresh = self.email.suppression.fresh_unsubscribe_token(exc)
            if fresh is None:
                return self._error(req, exc)
            return self._error(req, exc, action=self._form(req.path, fresh, t["unsubscribe_button"]))
        except (TokenError, NotFoundError) as exc:
            return self._error(req, exc)
        name = t["all_lists"] if list_id == "*" else self.email.settings.mailing_list(list_id).name(self._locale(req))
        if req.method == "GET":
            body = f"<p>{escape(t['unsubscribe_question'].format(list=name))}</p>" + self._form(
                req.path, token, t["unsubscribe_button"])
            return self._page(req, "unsubscribe_title", body)
        return self._page(req, "unsubscribed_title", f"<p>{escape(t['unsubscribed'].format(list=name))}</p>")

    # -- fresh links by mail ------------------------------------------------------------------------------
    def _resend_offer(self, req: Request, exc: TokenError, token: str, resendable: bool,
                      no_resend_key: str) -> Response:
        """The 400 page of a confirmation or preference link that cannot be used: for an authentic, expired
        link whose address is still held, a button that mails a fresh one; otherwise how to get one."""
        t = self._t(req)
        if isinstance(exc, ExpiredToken) and resendable:
            offer = f"<p>{escape(t['resend_offer'])}</p>" + self._form(
                req.path, token, t["resend_button"], '<input type="hidden" name="resend" value="1">')
            return self._error(req, exc, action=offer)
        key = "expired" if isinstance(exc, ExpiredToken) else "invalid"
        return self._page(req, "error_title", f"<p>{escape(t[key])}</p><p>{escape(t[no_resend_key])}</p>",
                          status=400)

    def _resend(self, req: Request, send: Callable[[], object], no_resend_key: str) -> Response:
        t = self._t(req)
        try:
            outcome = send()
        except RateLimited:
            return self._page(req, "error_title", f"<p>{escape(t['rate_limited'])}</p>", status=429)
        except NotFoundError:
            return self._page(req, "error_title", f"<p>{escape(t[no_resend_key])}</p>", status=404)
        except TokenError:  # tampered: the address is unknown, so only an explanation can help
            return self._page(req, "error_title", f"<p>{escape(t['invalid'])}</p><p>{escape(t[no_resend_key])}</p>",
                              status=400)
        except InvalidInput:  # no sender is set: nothing can be mailed from here
            return self._page(req, "error_title", f"<p>{escape(t[no_resend_key])}</p>", status=400)
        if isinstance(outcome, Change) and not outcome.changed:  # already confirmed: nothing was sent
            name = self.email.settings.mailing_list(outcome.list_id).name(self._locale(req))
            return self._page(req, "confirmed_title", f"<p>{escape(t['confirmed'].format(list=name))}</p>")
        return self._page(req, "resent_title", f"<p>{escape(t['resent'])}</p>")

    @staticmethod
    def _wants_resend(req: Request) -> bool:
        return req.method == "POST" and req.form().get("resend") == "1"

    # -- double opt-in ------------------------------------------------------------------------------------
    def confirm(self, req: Request) -> Response:
        """GET shows a confirm button (a prefetch must not confirm); POST confirms and records the proof.
        A tampered link gets a 400 page; an expired one offers to mail a fresh link (POST ``resend=1``)."""
        token = req.query.get("t", "")
        t = self._t(req)
        email = self.email
        if self._wants_resend(req):
            return self._resend(req, lambda: email.opt_in.resend_confirmation(
                token, locale=self._locale(req), ip=req.remote_addr, user_agent=req.header("user-agent")),
                "confirm_fresh")
        try:
            if req.method == "GET":
                list_id, _ = email.opt_in.read_confirmation(token)
            else:
                list_id = email.confirm_opt_in(token, ip=req.remote_addr,
                                               user_agent=req.header("user-agent")).list_id
        except TokenError as exc:
            resendable = isinstance(exc, ExpiredToken) and email.opt_in.confirmation_resendable(token)
            return self._resend_offer(req, exc, token, resendable, "confirm_fresh")
        except NotFoundError as exc:
            return self._error(req, exc)
        name = email.settings.mailing_list(list_id).name(self._locale(req))
        if req.method == "GET":
            return self._page(req, "confirm_title", f"<p>{escape(t['confirm_question'].format(list=name))}</p>"
                              + self._form(req.path, token, t["confirm_button"]))
        return self._page(req, "confirmed_title", f"<p>{escape(t['confirmed'].format(list=name))}</p>")

    # -- preference centre --------------------------------------------------------------------------------
    def preferences(self, req: Request) -> Response:
        """GET lists every list with its state; POST saves the choices. A tampered link gets a 400 page; an
        expired one offers to mail a fresh link (POST ``resend=1``)."""
        token = req.query.get("t", "")
        t = self._t(req)
        email = self.email
        if self._wants_resend(req):
            return self._resend(req, lambda: email.preferences.resend(token, locale=self._locale(req)),
                                "fresh_link")
        status = ""
        try:
            if req.method == "POST":
                form = req.form()
                wanted = {lid: form.get(f"list_{lid}") == "on" for lid in email.settings.lists}
                if form.get("all") == "off":
                    wanted = dict.fromkeys(wanted, False)
                pause = form.get("pause_days") or None
                if pause is not None and not (pause.isascii() and pause.isdigit() and len(pause) <= 3):
                    raise InvalidInput("a pause lasts 1 to 365 days")  # shown as the catalog's pause_invalid
                email.preferences.update(token, wanted, pause_days=int(pause) if pause else None,
                                         meta=self._meta(req, "preference-centre"))
                status = t["saved"]
            _, states = email.preferences.read(token)
        except TokenError as exc:
            resendable = isinstance(exc, ExpiredToken) and email.preferences.resendable(token)
            return self._resend_offer(req, exc, token, resendable, "fresh_link")
        except NotFoundError as exc:
            return self._error(req, exc)
        except (InvalidInput, RateLimited, ValueError) as exc:
            log.info("preference change refused: %s", type(exc).__name__)
            text = t["pause_invalid"] if isinstance(exc, InvalidInput) else t["invalid"]
            return self._page(req, "error_title", f"<p>{escape(text)}</p>", status=400)
        lang = self._locale(req)
        items = []
        for lid, state in states.items():
            checked = " checked" if state in ("subscribed", "paused") else ""
            label = email.settings.mailing_list(lid).name(lang)
            note = f" ({escape(t['state_' + state])})"
            items.append(f'<label><input type="checkbox" name="list_{escape(lid)}"{checked}> '
                         f"{escape(label)}{note}</label>")
        pause = (f'<label>{escape(t["pause_label"])} <select name="pause_days"><option value="">—</option>'
                 '<option value="30">30</option><option value="90">90</option></select></label>')
        body = (f'<form method="post" action="{escape(req.path)}?{escape(urlencode({"t": token}))}"><fieldset><legend>'
                f'{escape(t["preferences_legend"])}</legend>{"".join(items)}</fieldset>{pause}'
                f'<button type="submit">{escape(t["save_button"])}</button> '
                f'<button type="submit" class="secondary" name="all" value="off">{escape(t["leave_all_button"])}'
                "</button></form>")
        return self._page(req, "preferences_title", body, note=status)
