"""Translation between Django requests/responses and the SDK's plain ones."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.http import HttpRequest, HttpResponse, RawPostDataException
from django.views.decorators.csrf import csrf_exempt

from ...app import ShopPrivacy
from ...errors import ShopPrivacyError
from ...web.http import Request, Response
from ...web.routes import Route
from .._common import headers_with_nonce
from .runtime import get_sp, url_prefix


def to_request(req: HttpRequest) -> Request:
    return Request(
        method=req.method or "GET",
        path=req.path,
        query={k: req.GET[k] for k in req.GET},
        headers=headers_with_nonce(dict(req.headers.items()), getattr(req, "csp_nonce", None)),
        cookies=dict(req.COOKIES),
        body=req.body,
        remote_addr=req.META.get("REMOTE_ADDR"),
        query_string=str(req.META.get("QUERY_STRING", "")),
    )


def to_django(resp: Response) -> HttpResponse:
    out = HttpResponse(resp.body, status=resp.status)
    for name, value in resp.headers.items():
        out[name] = value
    for cookie in resp.set_cookies:  # Django emits one Set-Cookie header per entry of ``cookies``
        out.cookies.load(cookie)
    return out


@lru_cache(maxsize=2)
def _routes(sp: ShopPrivacy) -> dict[str, Route]:
    return {r.name: r for r in sp.web_routes()}


def _body_refused(request: HttpRequest, max_body: int) -> HttpResponse | None:
    """A 4xx when the body must not be read: a ``Content-Length`` that is not a number (Django would raise on
    it), one past ``max_body``, or a stream already consumed by ``request.POST``."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = -1
    if declared < 0:
        return HttpResponse(b"malformed Content-Length", status=400, content_type="text/plain")
    if declared > max_body:
        return HttpResponse(b"the body is too large", status=413, content_type="text/plain")
    try:
        request.body  # noqa: B018 - read now (bounded by the declared length) so to_request cannot fail
    except RawPostDataException:
        return HttpResponse(b"the body was already read as a form", status=400, content_type="text/plain")
    return None


def view_for(route: Route) -> Callable[[HttpRequest], HttpResponse]:
    """The Django view of ``route``; it answers through the route of the current facade (``get_sp()``), so a
    facade rebuilt after a settings change (``get_sp.cache_clear()``) is the one that answers."""

    def view(request: HttpRequest) -> HttpResponse:
        current = _routes(get_sp())[route.name]
        refused = _body_refused(request, current.max_body)
        if refused is not None:
            return refused
        return to_django(current.respond(to_request(request)))

    view.__name__ = "shopprivacy_" + route.name.replace(".", "_")
    return csrf_exempt(view) if route.csrf_exempt else view


def pending_view(request: HttpRequest) -> HttpResponse:
    """The view of the prefix while the facade could not be built at import: the endpoint of the path once it
    can (the problem was fixed, the database is back), else 503 — the reason is in the log and in
    ``manage.py check``, never in the answer to a visitor."""
    try:
        routes = _routes(get_sp())
    except ShopPrivacyError:
        resp = HttpResponse(b"This service is temporarily unavailable. Please try again later.", status=503,
                            content_type="text/plain; charset=utf-8")
        resp["Retry-After"] = "30"
        return resp
    prefix = url_prefix()
    for route in routes.values():
        if route.full_path(prefix) == request.path:
            return view_for(route)(request)
    return HttpResponse(b"not found", status=404, content_type="text/plain")
