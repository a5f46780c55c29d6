"""``send_newsletter``: mail the newsletter to every confirmed subscriber (with List-Unsubscribe headers)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from examples.shop_common import newsletter

from shopprivacy.integrations.django import get_sp

from ... import accounts
from ...privacy import mail


class Command(BaseCommand):
    help = "Mail the newsletter to every confirmed subscriber into the mail folder"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subject", default="New roasts this month")
        parser.add_argument("--text", default="Our Ethiopian natural is back, and the house blend got a little darker.")

    def handle(self, *args: Any, **options: Any) -> None:
        sent = newsletter.send(get_sp(), accounts.addresses(), mail(), options["subject"], options["text"])
        self.stdout.write(f"{sent} newsletter mail(s) written to {mail().folder}")
