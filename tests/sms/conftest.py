from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from shopprivacy import ShopPrivacy
from shopprivacy.email.settings import MailingList
from shopprivacy.sms import SmsMessage, SmsSettings
from shopprivacy.web import Request

TOKEN = "12345678901234567890123456789012"
ACCOUNT = "AC" + "0" * 32
URL = "https://shop.example/privacy/sms/inbound"
PROGRAMS = {"marketing": MailingList(names={"en": "Offers"}),
            "vip": MailingList(names={"en": "VIP"}),
            "orders": MailingList(names={"en": "Order updates"}, kind="transactional")}


class Outbox(list[SmsMessage]):
    """The texts the shop's sender was asked to send."""

    def __call__(self, message: SmsMessage) -> None:
        self.append(message)

    def code(self) -> str:
        return "".join(c for c in self[-1].body if c.isdigit())


@pytest.fixture
def texts():
    return Outbox()


@pytest.fixture
def ssp(settings, store, clock, texts):
    """A facade with SMS consent configured for Twilio, a hand-moved clock and a capturing sender."""
    s = settings.model_copy(update={"sms": SmsSettings(lists=PROGRAMS, default_region="FR",
                                                       twilio_auth_token=TOKEN, twilio_account_sid=ACCOUNT,
                                                       shop_name="Demo shop")})
    app = ShopPrivacy(s, store=store, clock=clock)
    app.sms.set_sender(texts)
    yield app
    app.close()


def inbound(params, *, token: str = TOKEN, url: str = URL, signature: str | None = None, headers=None) -> Request:
    """A POST as Twilio sends it, signed by Twilio's own helper unless ``signature`` is given."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, MultiDict(list(params)))
    return Request("POST", "/privacy/sms/inbound", body=urlencode(list(params)).encode(),
                   headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
                            **(headers or {})})


def route(app, name: str = "sms.inbound"):
    return next(r for r in app.web_routes() if r.name == name)
