"""The privacy portal: request a copy of one's data, its deletion or correction, a restriction of its use, an
objection to marketing and profiling or an opt-out of its sale/sharing, get the e-mail preference link, change
cookie settings; confirm a request from the mailed link; download an export once.

Every answer to a request form is the same neutral page whether or not the shop knows the address (no account
enumeration). GET never changes anything (mail scanners prefetch links); POSTs of the portal must come from
the shop's own pages (``Origin`` / ``Sec-Fetch-Site``), so no framework CSRF token is needed.
"""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING

from ..errors import ConflictError, ExpiredToken, InvalidInput, NotFoundError, RateLimited, ShreddedError, TokenError
from ..i18n import catalog
from ..web.http import Request, Response, same_origin
from ..web.pages import LocalizedPages
from ..web.routes import Route
from .cancellation import USED as CANCEL_USED
from .identifier_change import USED
from .masking import MaskedChange
from .model import MESSAGE_CHARS, parse_changes, parse_identity, parse_message

if TYPE_CHECKING:
    from ..consent.service import Consent
    from .service import Rights

log = logging.getLogger("shopprivacy.web")  # the pages log as the web layer, as before
PACKAGE = "shopprivacy.rights"
#: Portal actions: the request kinds a person may open here, and the e-mail preference link.
ACTIONS = ("export", "erase", "rectify", "restrict", "object", "opt_out_sale", "question", "complaint", "preferences")
#: Request kinds that need nothing but the address (each a form of its own, with a note saying what it does).
SIMPLE_KINDS = ("restrict", "object", "opt_out_sale")
#: Privacy feedback: the address and a message, answered by the operator within the same deadlines.
FEEDBACK = ("question", "complaint")


class RightsPages(LocalizedPages):
    """Framework-neutral handlers; mount them through :meth:`web_routes`. They use ``sp.rights`` and, for the
    cookie-settings button and the consent id of a request, ``sp.consent``."""

    package = PACKAGE

    def __init__(self, rights: Rights, consent: Consent, *, public_base_url: str,
                 default_locale: str = "en") -> None:
        super().__init__(default_locale)
        self.rights, self.consent, self.public_base_url = rights, consent, public_base_url

    def web_routes(self) -> list[Route]:
        return [
            Route("rights.portal", "/rights", ("GET", "POST"), self.portal, csrf_exempt=True),
            Route("rights.verify", "/rights/verify", ("GET", "POST"), self.verify, csrf_exempt=True),
            Route("rights.verify_new", "/rights/verify-new", ("GET", "POST"), self.verify_new, csrf_exempt=True),
            Route("rights.download", "/rights/download", ("GET", "POST"), self.download, csrf_exempt=True),
            Route("rights.cancel", "/rights/cancel", ("GET", "POST"), self.cancel, csrf_exempt=True),
        ]

    # -- helpers ----------------------------------------------------------------------------------------
    def _error(self, req: Request, exc: Exception) -> Response:
        t = catalog(PACKAGE, self._locale(req))
        if isinstance(exc, ConflictError):
            return self._page(req, "error_title", f"<p>{escape(t['closed'])}</p>", status=409)
        key = "expired" if isinstance(exc, ExpiredToken) else "invalid"
        status = 404 if isinstance(exc, NotFoundError) else 400
        return self._page(req, "error_title", f"<p>{escape(t[key])}</p>", status=status)

    @staticmethod
    def _changes_html(t: dict[str, str], changes: tuple[MaskedChange, ...], *, warn: bool = True) -> str:
        """The corrections as a list, values masked; with ``warn``, a warning when one moves an identifier."""
        if not changes:
            return ""
        items = []
        for c in changes:
            values = {"field": escape(t.get("field_" + c.field, c.field)), "new": f"<bdi>{escape(c.new)}</bdi>"}
            if c.old is None:
                items.append(escape(t["change_new"]).format(**values))
            else:
                items.append(escape(t["change_line"]).format(old=f"<bdi>{escape(c.old)}</bdi>", **values))
        warning = (f'<p role="note"><strong>{escape(t["identifier_warning"])}</strong></p>'
                   if warn and any(c.needs_proof for c in changes) else "")
        return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + f"</ul>{warning}"

    @staticmethod
    def _button_form(action: str, token: str, label: str) -> str:
        return (f'<form method="post" action="{escape(action)}?t={escape(token)}">'
                f'<button type="submit">{escape(label)}</button></form>')

    # -- portal -----------------------------------------------------------------------------------------
    def _portal_body(self, req: Request, t: dict[str, str]) -> str:
        path = escape(req.path)

        def field(action: str, name: str, label: str, kind: str = "text", required: bool = False) -> str:
            # one id per form and field: seven forms ask for the e-mail address, each label names its own input
            req_attr = " required" if required else ""
            auto = ' autocomplete="email"' if kind == "email" else ""
            ident = f"sp-{action}-{name}".replace("_", "-")
            return (f'<label for="{ident}">{escape(label)}</label>'
                    f'<input id="{ident}" name="{name}" type="{kind}" maxlength="320"{auto}{req_attr}>')

        def form(action: str, legend: str, button: str, inner: str, note: str = "") -> str:
            extra = f"<p>{escape(note)}</p>" if note else ""
            return (f'<form method="post" action="{path}"><fieldset><legend>{escape(legend)}</legend>{extra}'
                    f'<input type="hidden" name="action" value="{action}">{inner}'
                    f'<button type="submit">{escape(button)}</button></fieldset></form>')

        def email(action: str) -> str:
            return field(action, "email", t["email_label"], "email", True)

        def message(action: str) -> str:
            ident = f"sp-{action}-message"
            return (f'<label for="{ident}">{escape(t["message_label"])}</label>'
                    f'<textarea id="{ident}" name="message" rows="5" maxlength="{MESSAGE_CHARS}" required></textarea>')

        return (f"<p>{escape(t['portal_intro'])}</p>"
                + form("export", t["export_legend"], t["export_button"], email("export"))
                + form("erase", t["erase_legend"], t["erase_button"], email("erase"), t["erase_warning"])
                + form("rectify", t["rectify_legend"], t["rectify_button"],
                       email("rectify") + field("rectify", "new_email", t["new_email_label"], "email")
                       + field("rectify", "first_name", t["first_name_label"])
                       + field("rectify", "last_name", t["last_name_label"]))
                + "".join(form(kind, t[f"{kind}_legend"], t[f"{kind}_button"], email(kind), t[f"{kind}_text"])
                          for kind in SIMPLE_KINDS)
                + "".join(form(kind, t[f"{kind}_legend"], t[f"{kind}_button"], email(kind) + message(kind),
                               t[f"{kind}_text"]) for kind in FEEDBACK)
                + form("preferences", t["preferences_legend"], t["preferences_button"], email("preferences"),
                       t["preferences_text"])
                + f'<section><h2>{escape(t["cookies_legend"])}</h2>'
                  f'<button type="button" class="secondary" data-sp-consent-open>{escape(t["cookies_button"])}'
                  "</button></section>")

    def portal(self, req: Request) -> Response:
        lang = self._locale(req)
        t = catalog(PACKAGE, lang)
        banner = self.consent.banner_html(locale=lang, nonce=req.header("x-csp-nonce"))
        noscript = self.consent.noscript_html(lang, state=self.consent.state(req.cookies, req.headers))
        if req.method == "GET":
            return self._page(req, "portal_title", self._portal_body(req, t), head=banner, body_end=noscript)
        if not same_origin(req, self.public_base_url):
            return self._page(req, "form_refused_title", f"<p>{escape(t['forbidden'])}</p>", status=403)
        form = req.form()
        action = form.get("action")
        changes: dict[str, str] | None = None
        try:
            if action not in ACTIONS:
                raise InvalidInput("unknown action")
            email = form.get("email", "")
            if action == "rectify":
                changes = {k: v for k, v in (("email", form.get("new_email", "")),
                                             ("first_name", form.get("first_name", "")),
                                             ("last_name", form.get("last_name", ""))) if v.strip()}
            message = form.get("message", "") if action in FEEDBACK else None
            problem = self._problem(t, email, changes) or self._message_problem(t, message)
            if problem:
                return self._refused(req, t, problem, banner, noscript)
            if action == "preferences":
                self.rights.preferences_notice(email, ip=req.remote_addr)
            else:
                consent_id = self.consent.state(req.cookies, req.headers).consent_id
                self.rights.open(action, {"email": email}, channel="portal", changes=changes, locale=lang,
                                 ip=req.remote_addr, consent_id=consent_id, message=message)
        except RateLimited:
            return self._page(req, "error_title", f"<p>{escape(t['rate_limited'])}</p>", status=429)
        except InvalidInput as exc:
            log.info("portal request refused: %s", type(exc).__name__)
            return self._refused(req, t, t["invalid_entry"], banner, noscript)
        hours = str(self.rights.settings.verify_max_age_hours)
        return self._page(req, "sent_title", f"<p>{escape(t['sent'].format(hours=hours))}</p>")

    @staticmethod
    def _problem(t: dict[str, str], email: str, changes: dict[str, str] | None) -> str:
        """What is wrong with a portal form, in the visitor's language (``""``: nothing). The field is named by
        its label, never by the English text of the validation error."""
        labels = {"email": t["new_email_label"], "first_name": t["first_name_label"],
                  "last_name": t["last_name_label"]}
        try:
            parse_identity({"email": email})
        except InvalidInput:
            return t["invalid_input"].format(detail=t["email_label"])
        if changes is None:
            return ""
        if not changes:
            return t["rectify_nothing"]
        for name, value in changes.items():
            try:
                parse_changes({name: value})
            except InvalidInput:
                return t["invalid_input"].format(detail=labels[name])
        return ""

    @staticmethod
    def _message_problem(t: dict[str, str], message: str | None) -> str:
        if message is None:
            return ""
        try:
            parse_message(message)
        except InvalidInput:
            return t["invalid_input"].format(detail=t["message_label"])
        return ""

    def _refused(self, req: Request, t: dict[str, str], message: str, banner: str, noscript: str) -> Response:
        body = f'<p class="error" role="alert">{escape(message)}</p>' + self._portal_body(req, t)
        return self._page(req, "portal_title", body, status=400, head=banner, body_end=noscript)

    # -- verification -----------------------------------------------------------------------------------
    def verify(self, req: Request) -> Response:
        """GET shows what will be confirmed and a button; POST confirms the identifier the link was sent to."""
        token = req.query.get("t", "")
        t = catalog(PACKAGE, self._locale(req))
        try:
            if req.method == "GET":
                request = self.rights.read_verify(token)
                if not request.open:
                    raise ConflictError("closed")
                body = f"<p>{escape(t['verify_question'].format(kind=t['kind_' + request.kind]))}</p>"
                if request.kind == "rectify":
                    body += self._changes_html(t, self.rights.identifier_changes.shown(request.id))
                return self._page(req, "verify_title", body + self._button_form(req.path, token, t["verify_button"]))
            request = self.rights.verify(token)
            changes = self.rights.identifier_changes.shown(request.id) if request.kind == "rectify" else ()
        except (TokenError, NotFoundError, ConflictError) as exc:
            return self._error(req, exc)
        due = request.due_at.date().isoformat()
        body = f"<p>{escape(t['verified'].format(due=due))}</p>"
        if any(c.needs_proof for c in changes):
            body += f"<p>{escape(t['verified_next_new'])}</p>"
        if request.kind == "erase" and request.cancel_until is not None and request.state == "verified":
            minutes = str(self.rights.settings.erasure_grace_minutes)
            body += f"<p>{escape(t['verified_erase_grace'].format(minutes=minutes))}</p>"
        return self._page(req, "verified_title", body)

    # -- erasure grace window ---------------------------------------------------------------------------
    def cancel(self, req: Request) -> Response:
        """The cancel link of a confirmed erasure in its grace window: GET shows when it runs and a button;
        POST cancels it (410 once used, 409 once it ran or is running, 400 for a forged or expired link)."""
        token = req.query.get("t", "")
        t = catalog(PACKAGE, self._locale(req))
        try:
            if req.method == "GET":
                request = self.rights.read_cancel(token)
                until = f"{request.cancel_until:%Y-%m-%d %H:%M} UTC" if request.cancel_until else ""
                return self._page(req, "cancel_title", f"<p>{escape(t['cancel_text'].format(until=until))}</p>"
                                  + self._button_form(req.path, token, t["cancel_button"]))
            self.rights.cancel(token)
        except ExpiredToken as exc:
            if str(exc) == CANCEL_USED:
                return self._page(req, "error_title", f"<p>{escape(t['link_used'])}</p>", status=410)
            return self._error(req, exc)
        except ConflictError:
            return self._page(req, "error_title", f"<p>{escape(t['cancel_too_late'])}</p>", status=409)
        except (TokenError, NotFoundError) as exc:
            return self._error(req, exc)
        return self._page(req, "cancelled_title", f"<p>{escape(t['cancelled'])}</p>")

    def verify_new(self, req: Request) -> Response:
        """The link mailed (or texted) to the new e-mail address or phone of a correction: GET shows the
        corrections, masked, and a button; POST confirms the new value, once."""
        token = req.query.get("t", "")
        t = catalog(PACKAGE, self._locale(req))
        identifier_changes = self.rights.identifier_changes
        try:
            if req.method == "GET":
                _, shown = identifier_changes.read(token)
                body = f"<p>{escape(t['verify_new_text'])}</p>" + self._changes_html(t, shown, warn=False)
                return self._page(req, "verify_new_title",
                                  body + self._button_form(req.path, token, t["verify_button"]))
            request = identifier_changes.confirm(token)
        except ExpiredToken as exc:
            if str(exc) == USED:
                return self._page(req, "error_title", f"<p>{escape(t['link_used'])}</p>", status=410)
            return self._error(req, exc)
        except (TokenError, NotFoundError, ConflictError) as exc:
            return self._error(req, exc)
        due = request.due_at.date().isoformat()
        return self._page(req, "verified_new_title", f"<p>{escape(t['verified_new'].format(due=due))}</p>")

    # -- download ---------------------------------------------------------------------------------------
    def download(self, req: Request) -> Response:
        """GET shows a button (a prefetch must not use up the single download); POST hands the zip out."""
        token = req.query.get("t", "")
        t = catalog(PACKAGE, self._locale(req))
        try:
            if req.method == "GET":
                self.rights.read_download(token)
                return self._page(req, "download_title", f"<p>{escape(t['download_text'])}</p>"
                                  + self._button_form(req.path, token, t["download_button"]))
            request, data = self.rights.download(token)
        except ExpiredToken as exc:
            if "already used" in str(exc):
                return self._page(req, "error_title", f"<p>{escape(t['download_gone'])}</p>", status=410)
            return self._error(req, exc)
        except ShreddedError:
            return self._page(req, "error_title", f"<p>{escape(t['download_gone'])}</p>", status=410)
        except (TokenError, NotFoundError) as exc:
            return self._error(req, exc)
        name = f"personal-data-{request.received_at:%Y-%m-%d}.zip"
        return Response(200, data, {"Content-Type": "application/zip", "Cache-Control": "no-store",
                                    "Content-Disposition": f'attachment; filename="{name}"',
                                    "X-Content-Type-Options": "nosniff"})
