"""Translation between Django requests/responses and the SDK's plain ones."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ...app import ShopPrivacy
from ...web.http import Request, Response
from ...web.routes import Route
from .._common import headers_with_nonce
from .runtime import get_sp


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


@lru_cache(maxsize=2)
def _handlers(sp: ShopPrivacy) -> dict[str, Callable[[Request], Response]]:
    return {r.name: r.handler for r in sp.web_routes()}


def view_for(route: Route) -> Callable[[HttpRequest], HttpResponse]:
    """The Django view of ``route``; it calls the handler of the current facade (``get_sp()``), so a facade
    rebuilt after a settings change (``get_sp.cache_clear()``) is the one that answers."""

    def view(request: HttpRequest) -> HttpResponse:
        if request.method not in route.methods:
            return HttpResponse(status=405, headers={"Allow": ", ".join(route.methods)})
        return to_django(_handlers(get_sp())[route.name](to_request(request)))

    view.__name__ = "shopprivacy_" + route.name.replace(".", "_")
    return csrf_exempt(view) if route.csrf_exempt else view
