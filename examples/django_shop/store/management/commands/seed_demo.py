"""``seed_demo``: the demo customer, subscribed to the newsletter, and one newsletter sent (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from examples.shop_common.seed import DEMO_EMAIL, DEMO_PASSWORD, DEMO_PROFILE, subscribe_and_welcome

from shopprivacy.errors import ConflictError
from shopprivacy.integrations.django import get_sp

from ... import accounts
from ...privacy import mail


class Command(BaseCommand):
    help = "Create the demo customer, subscribe it to the newsletter and send it one newsletter"

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            accounts.sign_up(DEMO_EMAIL, DEMO_PASSWORD, **DEMO_PROFILE)
        except ConflictError:
            if accounts.authenticate(DEMO_EMAIL, DEMO_PASSWORD) is None:
                raise CommandError(f"{DEMO_EMAIL} exists with another password") from None
        else:
            subscribe_and_welcome(get_sp(), mail(), DEMO_EMAIL, accounts.addresses())
        self.stdout.write(f"demo customer {DEMO_EMAIL} / {DEMO_PASSWORD}")
