"""AppConfig: registers the system checks."""

from __future__ import annotations

from django.apps import AppConfig


class ShopPrivacyConfig(AppConfig):
    name = "shopprivacy.integrations.django"
    label = "shopprivacy"
    verbose_name = "shopprivacy"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the checks
