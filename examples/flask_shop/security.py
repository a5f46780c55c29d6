"""Request hygiene: a CSP nonce per request (also handed to the SDK's pages), a strict Content-Security-Policy,
a CSRF token for the shop's own forms, and 4xx/5xx pages without stack traces."""

from __future__ import annotations

import hmac
import logging
import secrets

from flask import Flask, Response, abort, g, render_template, request, session
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from shopprivacy.errors import ShopPrivacyError

from ..shop_common.shopping import CSP, client_error

log = logging.getLogger("flask_shop")

_SDK_ENDPOINTS = "shopprivacy."


def csrf_token() -> str:
    """The session's CSRF token, for a hidden ``csrf_token`` field in every form of the shop."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _before() -> None:
    nonce = secrets.token_urlsafe(18)
    g.csp_nonce = nonce  # the integration hands it to the banner tag and to the SDK's own pages
    endpoint = request.endpoint or ""
    if request.method == "POST" and endpoint and not endpoint.startswith(_SDK_ENDPOINTS):
        # SDK endpoints authenticate by signed token or same-origin check; the shop's forms by this token
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent, str(session.get("csrf", ""))):
            abort(400, description="The form has expired. Please go back, reload the page and try again.")


def _after(resp: Response) -> Response:
    if resp.mimetype == "text/html":
        resp.headers["Content-Security-Policy"] = CSP.format(n=g.get("csp_nonce", ""))
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
    return resp


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    titles = {400: "That did not work", 403: "Not allowed", 404: "Page not found", 405: "Not allowed",
              429: "Too many attempts"}
    code = exc.code or 500
    text = exc.description if code in (400, 429) else "Please check the address or go back to the shop."
    return render_template("message.html", title=titles.get(code, "Something went wrong"), text=text), code


def _sdk_error(exc: ShopPrivacyError) -> ResponseReturnValue:
    status = client_error(exc)
    if status is None:  # the shop's own fault (database, settings, platform): never shown, logged in full
        return _server_error(exc)
    log.info("refused: %s", type(exc).__name__)
    return render_template("message.html", title="That did not work", text=str(exc)[:300]), status


def _server_error(exc: Exception) -> ResponseReturnValue:
    log.exception("unexpected error")
    return render_template("message.html", title="Something went wrong",
                           text="Sorry, that did not work. Please try again in a moment."), 500


def init_app(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(ShopPrivacyError, _sdk_error)
    app.register_error_handler(500, _server_error)
