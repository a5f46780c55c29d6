"""Privacy feedback: questions and complaints through the portal, with the same verification, deadlines, receipts
and overdue report as rights requests, answered by the operator."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopprivacy.errors import ConflictError, InvalidInput
from shopprivacy.i18n import available_locales, catalog
from shopprivacy.rights.pages import FEEDBACK, PACKAGE
from shopprivacy.testing import respond
from shopprivacy.web import Request

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://shop.example"}
QUESTION = "Which of my data do you share with the carrier?\nThanks, Jane"


def _post(sp, body, lang="en"):
    return sp.rights_web.portal(Request("POST", "/privacy/rights", headers=FORM, body=body, query={"lang": lang},
                                        remote_addr="203.0.113.7"))


def test_every_language_offers_questions_and_complaints(sp):
    for lang in sorted(available_locales(PACKAGE)):
        t = catalog(PACKAGE, lang)
        html = sp.rights_web.portal(Request("GET", "/privacy/rights", query={"lang": lang})).body.decode()
        for kind in FEEDBACK:
            assert f'name="action" value="{kind}"' in html and f'id="sp-{kind}-message"' in html
            assert escape(t[f"{kind}_legend"]) in html and escape(t["message_label"]) in html


def test_a_question_is_verified_then_answered_by_the_operator(rsp, mailbox):
    body = f"action=question&email=jane%40example.com&message={quote(QUESTION)}".encode()
    assert _post(rsp, body).status == 200
    [request] = rsp.rights.find(state="received")
    assert request.kind == "question" and not request.verified
    with pytest.raises(ConflictError, match="not verified"):
        rsp.rights.answer(request.id, "Only your name and address.")
    rsp.run_due()  # delivers the verification link
    token = mailbox.link("verify", request.id).split("t=", 1)[1]
    rsp.rights.verify(token)
    assert rsp.run_due().tasks["rights"]["processed"] == 0  # never processed automatically
    with pytest.raises(ConflictError, match="the operator answers it"):
        rsp.rights.process(request.id)
    assert rsp.rights.message(request.id) == QUESTION
    assert [e.action for e in rsp.audit.entries(action="rights.message_read")] == ["rights.message_read"]
    done = rsp.rights.answer(request.id, "Only your name and address, to deliver your parcel.")
    assert done.state == "done"
    rsp.run_due()
    [answered] = mailbox.of("answered", request.id)
    assert answered.message == "Only your name and address, to deliver your parcel."
    assert answered.to == "jane@example.com"
    assert "parcel" not in repr(answered)
    timeline = [step for _, step in rsp.rights.receipt(request.id).timeline]
    assert "rights.answered" in timeline
    with pytest.raises(ConflictError):
        rsp.rights.answer(request.id, "again")


def test_an_unanswered_complaint_is_reported_overdue(rsp, mailbox, clock):
    req = rsp.rights.open("complaint", {"email": "bob@example.com"}, verified_by="shop-login",
                          message="You kept mailing me after I unsubscribed.")
    clock.advance(days=40)
    assert req.id in {r.id for r in rsp.rights.find(overdue=True)}
    assert rsp.run_due().tasks["rights"]["overdue"] >= 1


def test_a_message_is_needed_only_for_feedback_and_is_checked(rsp):
    with pytest.raises(InvalidInput, match="needs a message"):
        rsp.rights.open("question", {"email": "a@example.com"}, verified_by="shop-login")
    with pytest.raises(InvalidInput, match="only a question or complaint carries a message"):
        rsp.rights.open("export", {"email": "a@example.com"}, message="hello")
    with pytest.raises(InvalidInput, match="1-4000"):
        rsp.rights.open("question", {"email": "a@example.com"}, message="x" * 4001)
    refused = _post(rsp, b"action=complaint&email=a%40example.com&message=%20%20", lang="fr")
    assert refused.status == 400 and escape(catalog(PACKAGE, "fr")["message_label"]) in refused.body.decode()
    assert rsp.rights.find(state="received") == []


@settings(max_examples=80)
@given(kind=st.sampled_from(FEEDBACK), email=st.text(max_size=40), message=st.text(max_size=200),
       lang=st.one_of(st.none(), st.text(max_size=8)))
def test_any_feedback_body_is_answered_without_a_500(sp, kind, email, message, lang):
    body = (f"action={kind}&email={quote(email, errors='surrogatepass')}"
            f"&message={quote(message, errors='surrogatepass')}")
    resp = respond(sp, Request("POST", "/privacy/rights", query={} if lang is None else {"lang": lang},
                               headers=FORM, body=body.encode(), remote_addr="203.0.113.9"))
    assert resp.status in (200, 400, 429) and b"<script>" not in resp.body
