"""SMS marketing consent (``sp.sms``): E.164 numbers, explicit opt-in with proof, keyword opt-out through a
signed inbound webhook, suppression by blind index, quiet hours and the send guard.

The capability itself (:class:`shopprivacy.sms.service.Sms`, reached as ``sp.sms``) needs the ``sms`` extra
(``pip install "shopprivacy[sms]"``, for ``phonenumbers``); this face imports without it."""

from .message import SmsMessage as SmsMessage
from .message import SmsSender as SmsSender
from .settings import SmsSettings as SmsSettings

__all__ = ["SmsMessage", "SmsSender", "SmsSettings"]
