"""``manage.py shopprivacy_doctor``: settings, keys, database, schema and adapters in plain words."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shopprivacy.cli import main
from shopprivacy.integrations.django.runtime import get_sp, settings_environ, spelling


class Command(BaseCommand):
    help = "Check shopprivacy settings, keys, database, schema and adapters"
    requires_system_checks: list[str] = []  # the report covers them, in more words, even when they fail

    def handle(self, *args: Any, **options: Any) -> None:
        code = main(["doctor"], environ=settings_environ(), facade=get_sp, spelling=spelling)
        if code:
            raise CommandError("shopprivacy doctor found problems", returncode=code)
