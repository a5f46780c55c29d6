"""Request hygiene: a CSP nonce per request (the banner tag and the SDK's pages use it) with a strict
Content-Security-Policy, SDK errors as 400 pages, and 4xx/5xx pages without stack traces."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shopprivacy.errors import ShopPrivacyError

from ...shop_common.shopping import CSP, client_error

log = logging.getLogger("django_shop")



class ContentSecurityPolicyMiddleware:
    """Sets ``request.csp_nonce`` and the policy on HTML answers; turns an SDK error a view let through into
    a 400 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response["Content-Security-Policy"] = CSP.format(n=request.csp_nonce)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        status = client_error(exception) if isinstance(exception, ShopPrivacyError) else None
        if status is None:  # the shop's own fault: Django logs it and answers with the 500 page
            return None
        log.info("refused: %s", type(exception).__name__)
        return message(request, "That did not work", str(exception)[:300], status)


def message(request: HttpRequest, title: str, text: str, status: int) -> HttpResponse:
    return render(request, "store/message.html", {"title": title, "text": text}, status=status)


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return message(request, "That did not work", "Please go back, reload the page and try again.", 400)


def forbidden(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return message(request, "Not allowed", "Please check the address or go back to the shop.", 403)


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return message(request, "Page not found", "Please check the address or go back to the shop.", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return message(request, "Something went wrong", "Sorry, that did not work. Please try again in a moment.", 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return message(request, "That did not work",
                   "The form has expired. Please go back, reload the page and try again.", 400)
