"""Flask integration: ``ShopPrivacyFlask(app)`` or ``ext.init_app(app)`` in an app factory.

It builds the facade from ``app.config`` (``SHOPPRIVACY_*`` keys over the environment), mounts every web
route of the SDK under ``url_prefix`` (default ``/privacy``; ``/.well-known/gpc.json`` at the root), exempts
the one-click, webhook and consent endpoints from Flask-WTF's CSRF protection when it is installed, puts the
visitor's ``ConsentState`` on ``flask.g.shopprivacy_consent``, offers ``{{ shopprivacy_banner() }}`` to
templates (CSP nonce from ``g.csp_nonce``), adds ``flask shopprivacy ...`` forwarding to the core CLI, and keeps
link tokens out of the werkzeug and gunicorn access logs (``shopprivacy.web.access_logs``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from . import DidNotEnable, require_version
from ._common import environ_with, headers_with_nonce

try:
    import click
    import flask
    from markupsafe import Markup
except ImportError as exc:  # pragma: no cover - exercised only without Flask installed
    raise DidNotEnable("the Flask integration needs Flask: pip install 'shopprivacy[flask]'") from exc
else:
    require_version("Flask", (3, 0), "flask")

from ..app import ShopPrivacy
from ..errors import ShopPrivacyError
from ..fields.access_log import Identity
from ..settings import Settings
from ..web import access_logs
from ..web.http import Request, Response
from ..web.routes import Route

if TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

EXTENSION_KEY = "shopprivacy"


def to_request(req: flask.Request) -> Request:
    """The plain request for a Flask request (raw body bytes, as needed for webhook signatures)."""
    return Request(
        method=req.method,
        path=req.path,
        query={k: v for k, v in req.args.items()},
        headers=headers_with_nonce(dict(req.headers.items()), flask.g.get("csp_nonce") if flask.has_app_context()
                                   else None),
        cookies={k: v for k, v in req.cookies.items()},
        body=req.get_data(cache=True),
        remote_addr=req.remote_addr,
        query_string=req.query_string.decode("latin-1"),
    )


def to_flask(resp: Response) -> flask.Response:
    out = flask.Response(resp.body, status=resp.status)
    for name, value in resp.headers.items():
        out.headers[name] = value
    for cookie in resp.set_cookies:
        out.headers.add("Set-Cookie", cookie)
    return out


def _view(route: Route) -> Callable[[], ResponseReturnValue]:
    def view() -> ResponseReturnValue:
        req = flask.request
        if req.max_content_length is None or req.max_content_length > route.max_body:
            req.max_content_length = route.max_body  # a larger body is never read: Flask answers 413
        return to_flask(route.respond(to_request(req)))

    view.__name__ = "shopprivacy_" + route.name.replace(".", "_")
    return view


class ShopPrivacyFlask:
    """The Flask extension. ``sp`` may be given (tests, several apps sharing one facade).

    ``customer`` returns the signed-in customer's identifiers (``{"email": ...}`` and/or ``{"customer_id":
    ...}``; ``None`` for a visitor), e.g. ``lambda: {"customer_id": session["customer"]} if "customer" in session
    else None``: their rights requests then shape their consent state (an opt-out of sale denies
    ``sale_of_data`` on every visit)."""

    def __init__(self, app: flask.Flask | None = None, *, sp: ShopPrivacy | None = None,
                 url_prefix: str = "/privacy", staff: Callable[[], Identity | None] | None = None,
                 customer: Callable[[], Mapping[str, str] | None] | None = None) -> None:
        self._sp = sp
        self.url_prefix = url_prefix
        #: Returns the signed-in staff user as an ``Identity`` (actor, purpose, role), or ``None``: their
        #: requests decrypt through an audited, role-limited reader (``current_reader()``).
        self.staff = staff
        self._customer = customer
        if app is not None:
            self.init_app(app)

    def init_app(self, app: flask.Flask) -> None:
        sp = self._sp
        if sp is None:
            sp = ShopPrivacy(Settings.from_env(environ_with(app.config)))
            try:
                sp.keyring  # noqa: B018 - a missing or weak keyset fails here, at start, not on every page
            except ShopPrivacyError:
                sp.close()
                raise
        app.extensions[EXTENSION_KEY] = sp
        csrf = app.extensions.get("csrf")
        for route in sp.web_routes():
            view = _view(route)
            if route.csrf_exempt and csrf is not None and hasattr(csrf, "exempt"):
                csrf.exempt(view)
            app.add_url_rule(route.full_path(self.url_prefix), endpoint=f"shopprivacy.{route.name}",
                             view_func=view, methods=list(route.methods))
        app.before_request(self._consent_state)
        if self.staff is not None:
            app.before_request(self._start_reading)
            app.teardown_request(self._finish_reading)

        if sp.declaration.watching(app.debug):
            app.after_request(self._watch_cookies)
        app.jinja_env.globals["shopprivacy_banner"] = self._banner
        app.jinja_env.globals["shopprivacy_noscript"] = self._noscript
        app.cli.add_command(_cli_group(app))
        access_logs.install()

    @staticmethod
    def sp(app: flask.Flask | None = None) -> ShopPrivacy:
        """The facade of ``app`` (default: the current app)."""
        target = app or flask.current_app
        return target.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]

    def _consent_state(self) -> None:
        req = flask.request
        environ = req.environ  # only the consent cookie is read: the others are not parsed for this hook
        flask.g.shopprivacy_consent = self.sp().consent.request_state(
            environ.get("HTTP_COOKIE", ""), environ.get("HTTP_SEC_GPC", ""),
            identity=self._customer() if self._customer is not None else None, parse=lambda: req.cookies)

    def _start_reading(self) -> None:
        assert self.staff is not None
        who = self.staff()
        if who is not None:
            flask.g.shopprivacy_reading = self.sp().fields.start_reading(who)

    def _finish_reading(self, exc: BaseException | None) -> None:
        finish = flask.g.pop("shopprivacy_reading", None)
        if finish is not None:
            finish()

    def _watch_cookies(self, response: flask.Response) -> flask.Response:
        """Development: remember the names of cookies this response sets, for ``shopprivacy declaration check``."""
        self.sp().declaration.observe_headers(response.headers.getlist("Set-Cookie"))
        return response

    def _banner(self, locale: str | None = None) -> Markup:
        sp = self.sp()
        lang = locale or flask.request.headers.get("Accept-Language")
        nonce = flask.g.get("csp_nonce")
        state = flask.g.get("shopprivacy_consent")  # a signed-in customer's refusals: never allowed by the banner
        return Markup(sp.consent.banner_html(locale=lang, nonce=nonce, denied=getattr(state, "denied", ())))  # noqa: S704 - banner_html escapes all it renders

    def _noscript(self, locale: str | None = None) -> Markup:
        """``{{ shopprivacy_noscript() }}`` at the end of ``<body>``: the form for visitors without JavaScript,
        until they chose."""
        sp = self.sp()
        lang = locale or flask.request.headers.get("Accept-Language")
        state = flask.g.get("shopprivacy_consent")
        return Markup(sp.consent.noscript_html(lang, state=state))  # noqa: S704 - noscript_html escapes all it renders


def _cli_group(app: flask.Flask) -> click.Command:
    @click.command("shopprivacy", context_settings={"ignore_unknown_options": True, "help_option_names": []})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        """shopprivacy commands with this app's SHOPPRIVACY_* configuration (e.g. `flask shopprivacy run-due`)."""
        from ..cli import main

        raise SystemExit(main(list(args) or ["--help"], environ=environ_with(app.config),
                             facade=lambda: ShopPrivacyFlask.sp(app)))

    return command


