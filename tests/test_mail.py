"""The service-mail type the breach and privacy-notice-change notices share (shopprivacy.mail)."""

import pytest

from shopprivacy.breaches import BreachNotice
from shopprivacy.declaration.changes import ChangeNotice
from shopprivacy.mail import ServiceMail

BODY = {"to": "jane@example.com", "locale": "fr", "subject": "Objet", "text": "secret text", "html": "<p>secret</p>"}


def test_both_notices_are_service_mails_that_keep_the_address_and_bodies_out_of_repr():
    breach, change = BreachNotice("b-1", **BODY), ChangeNotice("2026-12-01", **BODY)
    assert breach.breach_id == "b-1" and change.version == "2026-12-01"
    for mail in (breach, change):
        assert isinstance(mail, ServiceMail)
        assert (mail.to, mail.locale, mail.subject, mail.text, mail.html) == tuple(BODY.values())
        assert "jane@" not in repr(mail) and "secret" not in repr(mail) and "Objet" in repr(mail)


def test_a_service_mail_is_frozen():
    with pytest.raises(AttributeError):
        ServiceMail(**BODY).to = "other@example.com"
