"""``renew``: bill every due subscription once per period (safe to run from cron every few minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from examples.shop_common.seed import parse_when, renew

from shopprivacy.integrations.django import get_sp

from ...privacy import platform


class Command(BaseCommand):
    help = "Bill every due subscription once per period"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--until", help="bill what is due before this time (ISO 8601; default: now)")
        parser.add_argument("--dry-run", action="store_true", help="show what would be billed; bill nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            until = parse_when(options["until"])
        except ValueError as exc:
            raise CommandError(f"--until: {exc}", returncode=2) from None
        summary = renew(get_sp(), platform(), until=until, dry_run=options["dry_run"], out=self.stdout.write)
        self.stdout.write(summary)
