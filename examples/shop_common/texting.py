"""Marketing texts: the opt-in at sign-up, with the exact wording shown as its proof (``sp.sms``)."""

from __future__ import annotations

from shopprivacy import ShopPrivacy
from shopprivacy.errors import InvalidInput

PROGRAM = "marketing"
#: The wording next to the box; the SDK keeps its SHA-256 digest with the proof of every opt-in.
WORDING = ("Text me offers (about two a month) at this number. Message and data rates may apply. "
           "Reply STOP to opt out, HELP for help.")


def check(sp: ShopPrivacy, phone: str) -> str:
    """The number in E.164; InvalidPhoneNumber (an InvalidInput) when it is missing or not a valid number."""
    return sp.sms.normalise(phone)


def opt_in(sp: ShopPrivacy, phone: str, *, customer_ref: str, source: str, ip: str | None = None,
           user_agent: str | None = None) -> None:
    """Record the opt-in the visitor gave by ticking the box (proof: wording digest, source, hashed IP and UA)."""
    sp.sms.opt_in(phone, PROGRAM, wording=WORDING, source=source, ip=ip, user_agent=user_agent,
                  customer_ref=customer_ref)


def state(sp: ShopPrivacy, phone: str | None) -> str:
    """``subscribed``, ``unsubscribed`` (STOP or opted out) or ``not_subscribed``."""
    try:
        return sp.sms.state(phone, PROGRAM) if phone else "not_subscribed"
    except InvalidInput:  # a number given without the texts box, which is not a valid one
        return "not_subscribed"


def e164_or_none(sp: ShopPrivacy, phone: str | None) -> str | None:
    """The number in E.164, or None when there is none or it is not a valid number."""
    try:
        return sp.sms.normalise(phone) if phone else None
    except InvalidInput:
        return None
