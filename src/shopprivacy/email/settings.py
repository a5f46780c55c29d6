"""Settings of the e-mail consent capability (``SHOPPRIVACY_EMAIL__*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import NotFoundError
from ..i18n import match

#: The list id meaning "every list".
ALL = "*"


class MailingList(BaseModel):
    """A list the shop sends to. ``names`` maps language tags to the name shown on pages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    names: dict[str, str] = Field(default_factory=lambda: {"en": "Newsletter"})
    kind: Literal["marketing", "transactional"] = "marketing"

    def name(self, locale: str) -> str:
        """The name in ``locale``, found as pages find a language (``pt-br`` -> ``pt-BR``, ``de-AT`` -> ``de``),
        else in English, else the first given."""
        found = match(self.names, locale)
        return (self.names[found] if found else "") or self.names.get("en") or next(iter(self.names.values()), "")


class EmailSettings(BaseModel):
    """Lists, link lifetimes, re-send limits and where the pages are mounted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The lists, by id. Transactional lists (receipts, renewal notices) are never blocked by suppression.
    lists: dict[str, MailingList] = Field(default_factory=lambda: {"newsletter": MailingList()})
    #: Unsubscribe links keep working this long (old newsletters must keep working).
    unsubscribe_max_age_days: int = Field(365, ge=1, le=3650)
    #: Preference-centre links.
    preferences_max_age_days: int = Field(365, ge=1, le=3650)
    #: Opt-in confirmation links expire; unconfirmed requests are purged by ``run-due``.
    confirm_max_age_hours: int = Field(48, ge=1, le=24 * 30)
    #: At most this many confirmation mails per address and list within ``resend_window_hours``.
    resend_limit: int = Field(3, ge=1, le=50)
    resend_window_hours: int = Field(24, ge=1, le=24 * 30)
    #: Optional ``mailto:`` address for List-Unsubscribe (RFC 2369), besides the HTTPS link.
    unsubscribe_mailto: str | None = None
    #: Where the web handlers are mounted below the public base URL.
    path_prefix: str = "/privacy"

    def mailing_list(self, list_id: str) -> MailingList:
        """The declared list; NotFoundError for an unknown id."""
        try:
            return self.lists[list_id]
        except KeyError:
            raise NotFoundError(f"unknown mailing list {list_id!r}") from None

    def check_list(self, list_id: str) -> None:
        """NotFoundError unless ``list_id`` is a declared list or ``"*"`` (every list)."""
        if list_id != ALL:
            self.mailing_list(list_id)

    @field_validator("lists")
    @classmethod
    def _ids(cls, value: dict[str, MailingList]) -> dict[str, MailingList]:
        for list_id in value:
            if not list_id or len(list_id) > 60 or not list_id.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"list id {list_id!r} must be 1-60 letters, digits, '-' or '_'")
        if "*" in value:
            raise ValueError("'*' is reserved for 'all lists'")
        return value
