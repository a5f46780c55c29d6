"""``ConsentMiddleware``: puts the visitor's ``ConsentState`` on ``request.shopprivacy_consent``; for a signed-in
customer (:func:`~.runtime.signed_in_customer`; place the middleware after Django's ``AuthenticationMiddleware``)
the categories their rights requests refuse are denied too (an opt-out of sale: ``sale_of_data``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .runtime import get_sp, signed_in_customer


class ConsentMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        sp = get_sp()
        state = sp.consent.state(request.COOKIES, {"Sec-GPC": request.headers.get("Sec-GPC", "")})
        identity = signed_in_customer(request)
        if identity:
            state = state.denying(sp.restrictions.consent_denials(identity))
        request.shopprivacy_consent = state
        return self.get_response(request)
