"""``ConsentMiddleware``: puts the visitor's ``ConsentState`` on ``request.shopprivacy_consent`` (and, in
development with a declaration, records the names of cookies responses set for the drift check)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from .runtime import get_sp


class ConsentMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        sp = get_sp()
        request.shopprivacy_consent = sp.consent.state(request.COOKIES,
                                                       {"Sec-GPC": request.headers.get("Sec-GPC", "")})
        response = self.get_response(request)
        if sp.declaration.watching(bool(getattr(settings, "DEBUG", False))):
            # development: the names of cookies this response sets, for `shopprivacy declaration check`
            sp.declaration.observe_headers(f"{name}=" for name in getattr(response, "cookies", {}))
        return response
