"""``path("", include("shopprivacy.integrations.django.urls"))`` mounts every SDK endpoint (unsubscribe,
preference centre, opt-in confirmation, consent endpoint and assets, ``/.well-known/gpc.json``) under
``settings.SHOPPRIVACY["url_prefix"]`` (default ``/privacy``)."""

from __future__ import annotations

from django.urls import path

from .http import view_for
from .runtime import get_sp, url_prefix

app_name = "shopprivacy"
urlpatterns = [
    path(route.full_path(url_prefix()).lstrip("/"), view_for(route), name=route.name.replace(".", "_"))
    for route in get_sp().web_routes()
]
