"""``{% load shopprivacy %}{% shopprivacy_banner %}`` in ``<head>``: the consent banner for the page's language
(``request.LANGUAGE_CODE`` when Django's locale middleware sets it) with the CSP nonce from
``request.csp_nonce`` when a CSP middleware provides one (and the categories a signed-in customer's rights request
refuses, so the banner never allows them); ``{% shopprivacy_noscript %}`` at the end of ``<body>``:
the form for visitors without JavaScript, until they chose (``ConsentMiddleware``'s state)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..runtime import get_sp

register = template.Library()


def _lang(request: Any, locale: str | None) -> str | None:
    return locale or getattr(request, "LANGUAGE_CODE", None) or (
        request.headers.get("Accept-Language") if request is not None else None)


@register.simple_tag(takes_context=True)
def shopprivacy_banner(context: Any, locale: str | None = None) -> SafeString:
    request = context.get("request")
    nonce = getattr(request, "csp_nonce", None)
    state = getattr(request, "shopprivacy_consent", None)  # a signed-in customer's refusals ride along
    return mark_safe(get_sp().consent.banner_html(_lang(request, locale), nonce=nonce,  # noqa: S308 - escaped
                                                  denied=getattr(state, "denied", ())))


@register.simple_tag(takes_context=True)
def shopprivacy_noscript(context: Any, locale: str | None = None) -> SafeString:
    request = context.get("request")
    state = getattr(request, "shopprivacy_consent", None)
    return mark_safe(get_sp().consent.noscript_html(_lang(request, locale), state=state))  # noqa: S308 - escaped
