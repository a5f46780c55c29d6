"""The inbound-SMS webhook (Twilio): ``POST {prefix}/sms/inbound``.

The request is verified first — ``X-Twilio-Signature`` over the URL and every POST parameter — and a request
that fails is answered 401 before anything is read or written. A verified text is then read for its keyword
(:mod:`shopprivacy.sms.keywords`); the answer is TwiML, with a message for HELP (and, when configured, for STOP
and START). Twilio retries a delivery that gets no 2xx; the keywords are idempotent."""

from __future__ import annotations

import logging
from html import escape
from urllib.parse import parse_qsl, urlencode

from ..errors import InvalidPhoneNumber, SignatureError
from ..web.http import Request, Response, origin_of
from ..web.routes import Route
from . import signature
from .service import Sms

log = logging.getLogger("shopprivacy.sms")
#: The largest inbound request read: Twilio's parameters for one text (1600 characters) and its media URLs.
MAX_BODY = 64 * 1024


def twiml(message: str | None = None) -> Response:
    """A TwiML answer: ``<Response/>``, or one ``<Message>`` replying to the sender."""
    inner = f"<Message>{escape(message, quote=False)}</Message>" if message else ""
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
    return Response(status=200, body=body.encode("utf-8"), headers={"Content-Type": "text/xml; charset=utf-8"})


class SmsPages:
    """The framework-neutral inbound webhook of ``sp.sms``; mount it through :meth:`web_routes`."""

    def __init__(self, sms: Sms, *, public_base_url: str, default_locale: str = "en") -> None:
        self.sms = sms
        self._origin = origin_of(public_base_url) or public_base_url.rstrip("/")
        self._locale = default_locale

    def web_routes(self) -> list[Route]:
        return [Route("sms.inbound", "/sms/inbound", ("POST",), self.inbound, csrf_exempt=True, max_body=MAX_BODY)]

    def url_of(self, req: Request) -> str:
        """The URL Twilio signed: ``inbound_url`` when set, else the public origin with the request's path and
        query."""
        if self.sms.settings.inbound_url:
            return self.sms.settings.inbound_url
        query = f"?{urlencode(dict(req.query))}" if req.query else ""
        return f"{self._origin}{req.path}{query}"

    def inbound(self, req: Request) -> Response:
        """Verify, then act on a keyword. 401 for a missing or wrong signature, 503 without a configured token,
        403 for another Twilio account, 415 for a body that is not a form; nothing is written in those cases."""
        s = self.sms.settings
        if s.twilio_auth_token is None:
            return Response.text("inbound SMS is not configured", status=503)
        if req.content_type != "application/x-www-form-urlencoded":
            return Response.text("expected a form body", status=415)
        req.form(max_bytes=MAX_BODY)  # bounds and encoding (MalformedRequest: 4xx from Route.respond)
        pairs = parse_qsl(req.body.decode("utf-8"), keep_blank_values=True, errors="strict")
        try:
            signature.verify(s.twilio_auth_token.get_secret_value(), self.url_of(req), pairs,
                             req.header(signature.HEADER),
                             algorithm=signature.algorithm_of(req.header(signature.SETTINGS_HEADER)))
        except SignatureError as exc:
            log.warning("inbound SMS refused: %s", exc)
            return Response.text("invalid signature", status=401)
        params: dict[str, str] = {}
        for name, value in pairs:
            params.setdefault(name, value)
        if s.twilio_account_sid and params.get("AccountSid") != s.twilio_account_sid:
            return Response.text("this webhook belongs to another account", status=403)
        try:
            outcome = self.sms.handle_keyword(params.get("From", ""), params.get("Body", ""),
                                              opt_out_type=params.get("OptOutType"), locale=self._locale)
        except InvalidPhoneNumber:  # a short code or alphanumeric sender: nothing to opt out
            log.info("inbound SMS from a sender that is not a phone number; ignored")
            return twiml()
        if outcome.keyword is not None:
            log.info("inbound SMS keyword %s (%s)", outcome.keyword, "changed" if outcome.changed else "no change")
        return twiml(outcome.reply)
