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
        meta = request.META  # only the consent cookie is read: the others are not parsed for this hook
        request.shopprivacy_consent = sp.consent.state_from_header(
            meta.get("HTTP_COOKIE", ""), meta.get("HTTP_SEC_GPC", ""), lambda: request.COOKIES)
        return self.get_response(request)
