"""AppConfig: registers the system checks, and has ``manage.py migrate`` upgrade the SDK's own tables too."""

from __future__ import annotations

import sys
from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _upgrade_sdk_schema(sender: Any, verbosity: int = 1, **kwargs: Any) -> None:
    """After ``migrate``: bring the ``sp_`` tables (Alembic, in ``SHOPPRIVACY["database_url"]``) up to date."""
    from .runtime import get_sp

    get_sp().store.upgrade()
    if verbosity >= 1:
        (kwargs.get("stdout") or sys.stdout).write("  shopprivacy: the sp_ tables are up to date\n")


class ShopPrivacyConfig(AppConfig):
    name = "shopprivacy.integrations.django"
    label = "shopprivacy"
    verbose_name = "shopprivacy"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the checks

        post_migrate.connect(_upgrade_sdk_schema, sender=self, dispatch_uid="shopprivacy.upgrade")
