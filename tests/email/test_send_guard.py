"""The send guard refuses marketing to an address without a recorded opt-in to the list (issue 20, "Why" 3);
transactional lists are exempt; ``email.opt_in.record`` records an opt-in obtained outside the double opt-in."""

from contextlib import suppress
from email.message import EmailMessage
from itertools import count as counter

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shopprivacy.email.tables import consent_events
from shopprivacy.errors import InvalidInput, NotOptedIn, RateLimited, SuppressedRecipient
from shopprivacy.store.schema import outbox

from .conftest import token_of


def message(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["To"], msg["Subject"] = to, "News"
    return msg


def count(sp, table) -> int:
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_marketing_to_an_address_that_never_opted_in_is_refused(esp):
    with pytest.raises(NotOptedIn):
        esp.email.guard("stranger@example.com", "newsletter")
    msg = message("stranger@example.com")
    with pytest.raises(SuppressedRecipient):  # NotOptedIn is one: `except SuppressedRecipient` skips it too
        esp.email.prepare(msg, "newsletter")
    assert msg["List-Unsubscribe"] is None
    esp.email.prepare(message("stranger@example.com"), "receipts")  # transactional: exempt


def test_a_pending_opt_in_is_not_an_opt_in_and_a_confirmed_one_is_per_list(esp):
    link = esp.email.request_opt_in("jane@example.com", "newsletter", source="form", consent_text_version="v1")
    with pytest.raises(NotOptedIn, match="pending"):
        esp.email.guard("jane@example.com", "newsletter")
    esp.email.confirm_opt_in(token_of(link))
    esp.email.guard("jane@example.com", "newsletter")
    with pytest.raises(NotOptedIn):
        esp.email.guard("jane@example.com", "offers")


def test_record_opt_in_is_proved_audited_and_propagated(esp):
    before = count(esp, outbox)
    change = esp.email.opt_in.record("Jane@Example.com", "offers", source="checkout", consent_text_version="t-3",
                                     ip="203.0.113.9", user_agent="UA")
    assert change.changed
    esp.email.prepare(message("jane@example.com"), "offers")
    history = esp.email.subjects.history("jane@example.com")
    assert [(h["list"], h["action"], h["text_version"], h["source"]) for h in history] == [
        ("offers", "opt_in_recorded", "t-3", "checkout")]
    assert esp.audit.entries(action="email.opt_in_recorded")[-1].meta == {
        "list": "offers", "level": "single_opt_in", "text_version": "t-3"}
    assert count(esp, outbox) == before + 1
    assert not esp.email.opt_in.record("jane@example.com", "offers", source="checkout",
                                       consent_text_version="t-3").changed  # already subscribed: nothing new


def test_record_opt_in_never_lifts_an_unsubscribe(esp):
    esp.email.opt_in.record("jane@example.com", "newsletter", source="checkout", consent_text_version="v1")
    esp.email.unsubscribe_address("jane@example.com", "newsletter")
    events = count(esp, consent_events)
    assert not esp.email.opt_in.record("jane@example.com", "newsletter", source="import",
                                       consent_text_version="v1").changed
    assert count(esp, consent_events) == events
    with pytest.raises(SuppressedRecipient):
        esp.email.guard("jane@example.com", "newsletter")


@pytest.mark.parametrize("bad", [{"source": ""}, {"consent_text_version": "x" * 121}, {"level": "opted_in"}])
def test_record_opt_in_checks_its_input(esp, bad):
    kwargs = {"source": "checkout", "consent_text_version": "v1", **bad}
    with pytest.raises(InvalidInput):
        esp.email.opt_in.record("jane@example.com", "newsletter", **kwargs)
    with pytest.raises(NotOptedIn):
        esp.email.guard("jane@example.com", "newsletter")


_ADDRESSES = counter()


@hsettings(max_examples=40, deadline=None)
@given(steps=st.lists(st.sampled_from(["request", "confirm", "record", "unsubscribe", "suppress_all"]),
                      max_size=6),
       list_id=st.sampled_from(["newsletter", "offers"]))
def test_marketing_goes_only_to_a_recorded_opt_in_not_withdrawn(esp, steps, list_id):
    address = f"p{next(_ADDRESSES)}@example.com"  # a fresh address per example: the store is shared
    opted, out, link = False, False, None
    for step in steps:
        if step == "request":
            with suppress(RateLimited):  # past the re-send limit: nothing is written
                link = esp.email.request_opt_in(address, list_id, source="f", consent_text_version="v")
        elif step == "confirm" and link is not None:
            if esp.email.confirm_opt_in(token_of(link)).changed:
                opted, out = True, False
        elif step == "record":
            if esp.email.opt_in.record(address, list_id, source="f", consent_text_version="v").changed:
                opted = True
        elif step == "unsubscribe":
            esp.email.unsubscribe_address(address, list_id)
            out = True
        elif step == "suppress_all":
            esp.email.suppress(address)
            out = True
    try:
        esp.email.guard(address, list_id)
    except SuppressedRecipient:
        allowed = False
    else:
        allowed = True
    assert allowed == (opted and not out)
    esp.email.guard(address, "receipts")
