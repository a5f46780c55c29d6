"""The confirmation-mail limit of double opt-in counts the ``+tag`` and Gmail dot variants of an address
together: one mailbox cannot be sent more confirmation mails by varying how its address is written. Each
variant stays the address that was given (its own subject, its own confirmation)."""

import pytest
from sqlalchemy import func, select, update

from shopprivacy.email.tables import pending_opt_ins
from shopprivacy.errors import RateLimited

from .conftest import token_of

VARIANTS = ["jane.doe@gmail.com", "Jane.Doe+news@gmail.com", "janedoe@googlemail.com"]


def opt_in(esp, address, list_id="newsletter"):
    return esp.email.request_opt_in(address, list_id, source="form", consent_text_version="v1")


def test_variants_of_one_mailbox_share_the_confirmation_mail_limit(esp, clock):
    assert esp.settings.email.resend_limit == len(VARIANTS)
    tokens = [token_of(opt_in(esp, a)) for a in VARIANTS]
    with pytest.raises(RateLimited):
        opt_in(esp, "j.a.n.e.d.o.e+again@gmail.com")
    with pytest.raises(RateLimited):
        opt_in(esp, VARIANTS[0])
    opt_in(esp, "jane.doe@gmail.com", "offers")  # another list: its own limit
    opt_in(esp, "jane.doe@example.org")  # another mailbox
    with esp.store.begin(write=False) as conn:
        subjects = conn.execute(select(func.count(func.distinct(pending_opt_ins.c.subject)))
                                .where(pending_opt_ins.c.list_id == "newsletter")).scalar_one()
    assert subjects == 4  # three variants and the other mailbox: identities are never merged
    assert esp.email.confirm_opt_in(tokens[1]).changed  # each variant confirms itself
    clock.advance(hours=25)
    opt_in(esp, "j.a.n.e.d.o.e+again@gmail.com")  # the window has passed


def test_re_sends_count_against_the_variants_limit_too(esp):
    esp.email.set_sender(lambda mail: None)
    first = token_of(opt_in(esp, "sam+a@example.com"))
    opt_in(esp, "sam+b@example.com")
    esp.email.opt_in.resend_confirmation(first)
    with pytest.raises(RateLimited):
        esp.email.opt_in.resend_confirmation(first)


def test_requests_stored_before_the_limit_key_existed_keep_their_own_limit(esp):
    opt_in(esp, "old@example.com")
    with esp.store.begin() as conn:  # as the migration left a request made by an earlier version
        conn.execute(update(pending_opt_ins).values(limit_key=None))
    opt_in(esp, "old@example.com")
    opt_in(esp, "old@example.com")
    with pytest.raises(RateLimited):
        opt_in(esp, "old@example.com")
