"""The bodies of Shopify's marketing-consent webhooks, as Shopify documents them.

``customers_email_marketing_consent/update`` (``CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE``; Shopify's changelog
calls it ``customers/email_marketing_consent_update``)::

    {"customer_id": 706405506930370084, "email_address": "bob@example.com",
     "email_marketing_consent": {"state": "unsubscribed", "opt_in_level": "single_opt_in",
                                 "consent_updated_at": "2026-11-24T09:00:00-05:00", "consent_collected_from": "OTHER"}}

``customers_marketing_consent/update`` (``CUSTOMERS_MARKETING_CONSENT_UPDATE``: "whenever a customer's SMS
marketing consent is updated") carries the SMS consent, the webhook form of the Admin API's
``CustomerSmsMarketingConsentState``::

    {"id": 706405506930370084, "phone": "+16135551111",
     "sms_marketing_consent": {"state": "unsubscribed", "opt_in_level": "single_opt_in",
                               "consent_updated_at": "2026-11-24T09:00:00-05:00", "consent_collected_from": "OTHER"}}

States are the lower-cased values of the Admin API's ``CustomerEmailMarketingState`` (``CustomerSmsMarketingState``
for SMS), levels those of ``CustomerMarketingOptInLevel``, sources those of ``CustomerConsentCollectedFrom``;
unknown keys are ignored, unknown values refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EMAIL_CONSENT = "customers_email_marketing_consent/update"
SMS_CONSENT = "customers_marketing_consent/update"

#: Lower-cased ``CustomerEmailMarketingState`` values; which of them stop marketing mail.
EMAIL_STATES = ("subscribed", "unsubscribed", "not_subscribed", "pending", "invalid", "redacted")
WITHDRAWN = frozenset({"unsubscribed", "not_subscribed", "invalid", "redacted"})
#: Lower-cased ``CustomerMarketingOptInLevel`` values.
LEVELS = ("single_opt_in", "confirmed_opt_in", "unknown")


class EmailMarketingConsent(BaseModel):
    """``email_marketing_consent``: state, opt-in level, when and where Shopify recorded it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    state: Literal["subscribed", "unsubscribed", "not_subscribed", "pending", "invalid", "redacted"] | None = None
    opt_in_level: Literal["single_opt_in", "confirmed_opt_in", "unknown"] | None = None
    consent_updated_at: datetime | None = None
    consent_collected_from: Literal["SHOPIFY", "OTHER"] | str | None = Field(None, max_length=40)

    @field_validator("state", "opt_in_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("consent_updated_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("consent_updated_at needs a UTC offset")
        return value


#: Lower-cased ``CustomerSmsMarketingState`` values; which of them stop marketing texts.
SMS_STATES = ("subscribed", "unsubscribed", "not_subscribed", "pending", "redacted")
SMS_WITHDRAWN = frozenset({"unsubscribed", "not_subscribed", "redacted"})


class SmsMarketingConsent(EmailMarketingConsent):
    """``sms_marketing_consent``: the same fields, the states of ``CustomerSmsMarketingState``."""

    state: Literal["subscribed", "unsubscribed", "not_subscribed", "pending", "redacted"] | None = None


class SmsConsentBody(BaseModel):
    """The body of ``customers_marketing_consent/update``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[int, Field(ge=1, lt=10**20)]
    phone: str | None = Field(None, max_length=40)
    sms_marketing_consent: SmsMarketingConsent | None = None


class EmailConsentBody(BaseModel):
    """The body of ``customers_email_marketing_consent/update``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    customer_id: Annotated[int, Field(ge=1, lt=10**20)]
    email_address: str | None = Field(None, max_length=320)
    email_marketing_consent: EmailMarketingConsent


__all__ = ["EMAIL_CONSENT", "EMAIL_STATES", "LEVELS", "SMS_CONSENT", "SMS_STATES", "SMS_WITHDRAWN", "WITHDRAWN",
           "EmailConsentBody", "EmailMarketingConsent", "SmsConsentBody", "SmsMarketingConsent"]
