"""The objects the views and commands share, reachable from the current app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.engine import Engine

from shopprivacy import ShopPrivacy
from shopprivacy.platforms.local import LocalShop

from ..shop_common.mailbox import MailFolder
from ..shop_common.shopping import local_platform
from .accounts import Accounts


@dataclass
class Shop:
    """What the views and commands share: the facade, the shop's database, accounts and the mail folder."""

    sp: ShopPrivacy
    engine: Engine
    accounts: Accounts
    mail: MailFolder

    @property
    def platform(self) -> LocalShop:
        return local_platform(self.sp)


def shop() -> Shop:
    """The :class:`Shop` of the current app."""
    return current_app.extensions["flask_shop"]  # type: ignore[no-any-return]
