"""``ConsentMiddleware``: puts the visitor's ``ConsentState`` on ``request.shopprivacy_consent``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .runtime import get_sp


class ConsentMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        sp = get_sp()
        request.shopprivacy_consent = sp.consent.state(request.COOKIES,
                                                       {"Sec-GPC": request.headers.get("Sec-GPC", "")})
        return self.get_response(request)
