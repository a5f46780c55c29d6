"""AppConfig: registers the system checks, has ``manage.py migrate`` upgrade the SDK's own tables too, and keeps
link tokens out of the ``runserver``, ``django.request`` and gunicorn logs (``shopprivacy.web.access_logs``)."""

from __future__ import annotations

import sys
from typing import Any

from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate


def _upgrade_sdk_schema(sender: Any, verbosity: int = 1, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """After ``migrate`` of the default database: bring the ``sp_`` tables (Alembic, in
    ``SHOPPRIVACY["database_url"]``) up to date. ``flush`` (no migration plan) and other aliases leave them be."""
    if using != DEFAULT_DB_ALIAS or kwargs.get("plan") is None:
        return
    from django.core.management.base import CommandError

    from ...errors import ShopPrivacyError
    from ...settings import Settings
    from ...store.engine import Store
    from .runtime import settings_environ, spelling

    try:
        store = Store.from_url(Settings.from_env(settings_environ(), spelling=spelling).database_url)
        try:
            store.upgrade()
        finally:
            store.dispose()
    except ShopPrivacyError as exc:  # one line, not a traceback: Django prints a CommandError's message
        raise CommandError(f"shopprivacy: the sp_ tables were not upgraded: {exc}") from None
    if verbosity >= 1:
        (kwargs.get("stdout") or sys.stdout).write("  shopprivacy: the sp_ tables are up to date\n")


class ShopPrivacyConfig(AppConfig):
    name = "shopprivacy.integrations.django"
    label = "shopprivacy"
    verbose_name = "shopprivacy"

    def ready(self) -> None:
        from ...web import access_logs
        from . import checks  # noqa: F401 - registers the checks

        access_logs.install()  # after Django applied LOGGING; a later dictConfig keeps logger filters

        post_migrate.connect(_upgrade_sdk_schema, sender=self, dispatch_uid="shopprivacy.upgrade")
