import pytest
from itsdangerous.encoding import base64_decode

from shopprivacy import ShopPrivacy
from shopprivacy.email.settings import EmailSettings, MailingList
from shopprivacy.web import Request

LISTS = {
    "newsletter": MailingList(names={"en": "Newsletter", "fr": "Lettre d’information"}),
    "offers": MailingList(names={"en": "Offers"}),
    "receipts": MailingList(names={"en": "Receipts"}, kind="transactional"),
}


@pytest.fixture
def esp(settings, store, tmp_path, clock):
    """A facade with three lists, the local reference shop and a hand-moved clock."""
    s = settings.model_copy(update={"email": EmailSettings(lists=LISTS),
                                    "platform_options": {"database_url": f"sqlite:///{tmp_path}/shop.db"}})
    app = ShopPrivacy(s, store=store, clock=clock)
    yield app
    app.close()


def token_of(url: str) -> str:
    return url.split("?t=", 1)[1]


def post(path: str, token: str, body: bytes, content_type: str = "application/x-www-form-urlencoded",
         headers=None, **kw):
    return Request("POST", path, query={"t": token}, headers={"Content-Type": content_type, **(headers or {})},
                   body=body, **kw)


def equivalent(a: str, b: str) -> bool:
    """True when two tokens decode to the same bytes (base64 ignores the unused bits of its last character)."""
    pa, pb = a.split("."), b.split(".")
    try:
        return len(pa) == len(pb) and all(base64_decode(x) == base64_decode(y) for x, y in zip(pa, pb, strict=True))
    except Exception:
        return False
