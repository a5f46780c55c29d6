"""``{% load shopprivacy %}{% shopprivacy_banner %}`` in ``<head>``: the consent banner for the page's language
(``request.LANGUAGE_CODE`` when Django's locale middleware sets it) with the CSP nonce from
``request.csp_nonce`` when a CSP middleware provides one."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..runtime import get_sp

register = template.Library()


@register.simple_tag(takes_context=True)
def shopprivacy_banner(context: Any, locale: str | None = None) -> SafeString:
    request = context.get("request")
    lang = locale or getattr(request, "LANGUAGE_CODE", None) or (
        request.headers.get("Accept-Language") if request is not None else None)
    nonce = getattr(request, "csp_nonce", None)
    return mark_safe(get_sp().consent.banner_html(lang, nonce=nonce))  # noqa: S308 - banner_html escapes its content
