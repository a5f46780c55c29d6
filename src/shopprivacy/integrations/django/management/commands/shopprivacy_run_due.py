"""``manage.py shopprivacy_run_due``: deliver the outbox and do all due work (cron every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shopprivacy.cli import main
from shopprivacy.integrations.django.runtime import get_sp, settings_environ


class Command(BaseCommand):
    help = "Do all due shopprivacy work: expiries, reminders, retention, outbox deliveries"

    def handle(self, *args: Any, **options: Any) -> None:
        code = main(["run-due"], environ=settings_environ(), facade=get_sp)
        if code:
            raise CommandError("run-due failed", returncode=code)
