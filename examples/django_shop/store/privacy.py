"""The SDK's set-up for this shop, run once on the facade (``SHOPPRIVACY["configure"]``): the customer model
as a rights source, and the mail folder as the sender of rights notices and fresh e-mail links."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings

from shopprivacy import ShopPrivacy
from shopprivacy.integrations.django import get_sp
from shopprivacy.integrations.django.sources import ModelSource
from shopprivacy.platforms.local import LocalShop

from ...shop_common.mailbox import MailFolder
from ...shop_common.shopping import local_platform
from .models import Customer


@lru_cache(maxsize=4)
def _mail(folder: Path) -> MailFolder:
    return MailFolder(folder)


def mail() -> MailFolder:
    """The shop's outgoing mail folder (``settings.SHOP_MAIL_DIR``)."""
    return _mail(Path(settings.SHOP_MAIL_DIR))


def platform() -> LocalShop:
    """The platform the shop sells subscriptions on: the local reference shop."""
    return local_platform(get_sp())


def customer_source() -> ModelSource:
    """The account table as a rights source: found by the e-mail's blind index, exported decrypted, corrected
    through the model (the blind index follows the e-mail), erased by shredding the customer's key and
    deleting the row."""
    return ModelSource(
        Customer, lookup="email_bidx", match="email", subject_key_field="id", delete_rows=True,
        fields=("email", "first_name", "phone", "address", "platform_customer_id", "created_at"),
        rectify={"email": "email", "first_name": "first_name", "phone": "phone", "address": "address"})


def configure(sp: ShopPrivacy) -> None:
    sp.rights.register_source(customer_source())
    sp.rights.set_sender(mail().send_notice)
    sp.email.set_sender(mail().send_link)
    sp.declaration.set_sender(mail().send_change_notice)  # privacy notice changes (`declaration publish`)
