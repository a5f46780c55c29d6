"""``manage.py shopprivacy <command>``: any core command with the project's SHOPPRIVACY settings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shopprivacy.cli import main
from shopprivacy.integrations.django.runtime import get_sp, settings_environ


class Command(BaseCommand):
    help = "Run a shopprivacy command (keys, db, audit, run-due, doctor, fields, renewals, retention, ...)"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("args", nargs="*")

    def run_from_argv(self, argv: list[str]) -> None:
        code = main(argv[2:] or ["--help"], environ=settings_environ(), facade=get_sp)
        if code:
            raise SystemExit(code)

    def handle(self, *args: str, **options: Any) -> None:
        code = main(list(args) or ["--help"], environ=settings_environ(), facade=get_sp)
        if code:
            raise CommandError(f"shopprivacy exited with status {code}", returncode=code)
