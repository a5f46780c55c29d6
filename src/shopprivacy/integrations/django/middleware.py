"""Middleware: ``ConsentMiddleware`` puts the visitor's ``ConsentState`` on ``request.shopprivacy_consent``; for a
signed-in customer (:func:`~.runtime.signed_in_customer`; place the middleware after Django's
``AuthenticationMiddleware``) the categories their rights requests refuse are denied too (an opt-out of sale:
``sale_of_data``), and in development with a declaration it records the names of cookies responses set for the
drift check. ``StaffReadsMiddleware`` decrypts a staff user's requests through an audited, role-limited reader."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from ...fields.access_log import Identity
from .runtime import _integration, get_sp, signed_in_customer


class ConsentMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        sp = get_sp()
        meta = request.META  # only the consent cookie is read: the others are not parsed for this hook
        request.shopprivacy_consent = sp.consent.request_state(
            meta.get("HTTP_COOKIE", ""), meta.get("HTTP_SEC_GPC", ""), identity=signed_in_customer(request),
            parse=lambda: request.COOKIES)
        response = self.get_response(request)
        if sp.declaration.watching(bool(getattr(settings, "DEBUG", False))):
            # development: the names of cookies this response sets, for `shopprivacy declaration check`
            sp.declaration.observe_headers(f"{name}=" for name in getattr(response, "cookies", {}))
        return response


def default_staff_identity(request: Any) -> Identity | None:
    """A signed-in ``is_staff`` user: actor ``staff:<pk>``, role ``superuser``, their first group's name or
    ``staff``, purpose the name of the view (never the path, which may hold personal data)."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_staff", False):
        return None
    if getattr(user, "is_superuser", False):
        role = "superuser"
    else:
        group = user.groups.order_by("name").values_list("name", flat=True).first()
        role = str(group)[:60] if group else "staff"
    match = getattr(request, "resolver_match", None)
    view = getattr(match, "view_name", None) or "request"
    return Identity(actor=f"staff:{user.pk}", purpose=f"view {view}"[:200], role=role)


class StaffReadsMiddleware:
    """Place after ``AuthenticationMiddleware``. Encrypted model fields read during a staff user's request are
    checked against ``SHOPPRIVACY["fields"]["access"]`` and recorded in one audit entry per request;
    ``SHOPPRIVACY["staff_identity"]`` (a dotted path) replaces :func:`default_staff_identity`."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        path = _integration("staff_identity")
        self.identify: Callable[[Any], Identity | None] = import_string(path) if path else default_staff_identity

    def __call__(self, request: Any) -> Any:
        who = self.identify(request)
        if who is None:
            return self.get_response(request)
        finish = get_sp().fields.start_reading(who)
        try:
            return self.get_response(request)
        finally:
            finish()
