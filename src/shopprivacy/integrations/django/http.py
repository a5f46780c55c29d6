"""Translation between Django requests/responses and the SDK's plain ones."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ...web.http import Request, Response
from ...web.routes import Route
from .._common import headers_with_nonce


def to_request(req: HttpRequest) -> Request:
    return Request(
        method=req.method or "GET",
        path=req.path,
        query={k: req.GET[k] for k in req.GET},
        headers=headers_with_nonce(dict(req.headers.items()), getattr(req, "csp_nonce", None)),
        cookies=dict(req.COOKIES),
        body=req.body,
        remote_addr=req.META.get("REMOTE_ADDR"),
    )


def to_django(resp: Response) -> HttpResponse:
    out = HttpResponse(resp.body, status=resp.status)
    for name, value in resp.headers.items():
        out[name] = value
    for cookie in resp.set_cookies:  # Django emits one Set-Cookie header per entry of ``cookies``
        out.cookies.load(cookie)
    return out


def view_for(route: Route) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        if request.method not in route.methods:
            return HttpResponse(status=405, headers={"Allow": ", ".join(route.methods)})
        return to_django(route.handler(to_request(request)))

    view.__name__ = "shopprivacy_" + route.name.replace(".", "_")
    return csrf_exempt(view) if route.csrf_exempt else view
