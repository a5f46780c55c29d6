"""The erasure grace window: a confirmed erasure waits, cancellable from the mailed link, then runs."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopprivacy import ShopPrivacy
from shopprivacy.errors import ConflictError
from shopprivacy.rights.cancellation import CANCELLED
from shopprivacy.rights.settings import RightsSettings
from shopprivacy.testing import respond, row_counts
from shopprivacy.web import Request

from .conftest import verify_all

CANCEL = "/privacy/rights/cancel"


@pytest.fixture
def gsp(settings, store, clock, db_url, mailbox):
    s = settings.model_copy(update={"platform_options": {"database_url": db_url},
                                    "rights": RightsSettings(erasure_grace_minutes=30)})
    app = ShopPrivacy(s, store=store, clock=clock)
    app.rights.set_sender(mailbox)
    yield app
    app.close()


def token(link):
    return link.split("?t=", 1)[1]


def confirmed_erasure(app, mailbox, address="jane@example.com"):
    req = app.rights.open("erase", {"email": address})
    verify_all(app, mailbox, req.id)
    app.outbox.deliver_due()
    return app.rights.get(req.id)


def cancel(app, link, method="POST"):
    return respond(app, Request(method, CANCEL, query={"t": token(link)}))


def test_a_confirmed_erasure_waits_and_can_be_cancelled_once(gsp, mailbox, clock):
    req = gsp.rights.open("erase", {"email": "jane@example.com"})
    gsp.outbox.deliver_due()
    verify_link = mailbox.link("verify", req.id)
    page = respond(gsp, Request("POST", "/privacy/rights/verify", query={"t": token(verify_link)}))
    assert page.status == 200 and b"30 minutes" in page.body  # what the requester reads on confirming
    req = gsp.rights.get(req.id)
    assert req.state == "verified"
    assert (req.cancel_until - clock.now).total_seconds() == 30 * 60
    receipt = gsp.rights.receipt(req.id)
    assert receipt.to_json()["cancel_until"] == req.cancel_until.isoformat()
    assert [a for _, a in receipt.timeline][-2:] == ["rights.verified", "rights.erasure_scheduled"]
    gsp.outbox.deliver_due()
    [notice] = mailbox.of("erasure_scheduled", req.id)
    assert notice.link.startswith("https://shop.example/privacy/rights/cancel?t=")

    assert gsp.run_due().tasks["rights"]["processed"] == 0
    with pytest.raises(ConflictError, match="cancelled by the requester until"):
        gsp.rights.process(req.id)

    shown = cancel(gsp, notice.link, "GET")
    assert shown.status == 200 and b"UTC" in shown.body and gsp.rights.get(req.id).state == "verified"
    done = cancel(gsp, notice.link)
    assert done.status == 200
    after = gsp.rights.get(req.id)
    assert after.state == "rejected" and after.reject_reason == CANCELLED
    assert cancel(gsp, notice.link).status == 410
    assert cancel(gsp, notice.link, "GET").status == 410
    clock.advance(minutes=31)
    assert gsp.run_due().tasks["rights"]["processed"] == 0  # a cancelled erasure never runs
    assert "rights.cancelled" in [a for _, a in gsp.rights.receipt(req.id).timeline]


def test_after_the_window_the_due_job_runs_it_and_the_link_says_too_late(gsp, mailbox, clock):
    req = confirmed_erasure(gsp, mailbox)
    link = mailbox.link("erasure_scheduled", req.id)
    clock.advance(minutes=29)
    assert gsp.run_due().tasks["rights"]["processed"] == 0
    clock.advance(minutes=2)
    gsp.run_due()
    gsp.outbox.deliver_due()
    assert gsp.rights.get(req.id).state == "done"
    resp = cancel(gsp, link)
    assert resp.status == 409 and b"no longer be cancelled" in resp.body
    assert cancel(gsp, link, "GET").status == 409


def test_a_forged_or_expired_link_is_a_400(gsp, mailbox, clock):
    req = confirmed_erasure(gsp, mailbox)
    link = mailbox.link("erasure_scheduled", req.id)
    t = token(link)
    forged = t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB")
    assert respond(gsp, Request("POST", CANCEL, query={"t": forged})).status == 400
    verify_link = gsp.rights._verification.link(req.id, "email", "x")  # another purpose's signature
    assert respond(gsp, Request("POST", CANCEL, query={"t": token(verify_link)})).status == 400
    clock.advance(minutes=30 + 24 * 60 + 1)
    assert cancel(gsp, link).status == 400
    assert gsp.rights.get(req.id).state == "verified"


def test_off_by_default_and_never_for_a_platform_forwarded_erasure(rsp, gsp, mailbox):
    req = confirmed_erasure(rsp, mailbox)  # the window is off: it runs at once
    assert req.cancel_until is None
    rsp.run_due()
    assert rsp.rights.get(req.id).state in ("done", "in_progress")
    assert not mailbox.of("erasure_scheduled")
    forwarded = gsp.rights.open("erase", {"email": "max@example.com"}, verified_by="shopify")
    assert forwarded.cancel_until is None
    assert gsp.rights.process(forwarded.id).state in ("done", "in_progress")


def test_other_requests_have_no_window(gsp, mailbox):
    req = gsp.rights.open("export", {"email": "jane@example.com"})
    verify_all(gsp, mailbox, req.id)
    assert gsp.rights.get(req.id).cancel_until is None


@settings(max_examples=60)
@given(t=st.one_of(st.text(max_size=300), st.from_regex(r"[A-Za-z0-9_.\-]{0,200}", fullmatch=True),
                   st.text(alphabet="\x00\ud7ff\ufffe.é", max_size=20)),
       method=st.sampled_from(["GET", "POST"]))
def test_any_cancel_token_is_a_4xx_and_writes_nothing(gsp, t, method):
    before = row_counts(gsp.store)
    resp = respond(gsp, Request(method, CANCEL, query={"t": t}))
    assert 400 <= resp.status < 500 and b"<script" not in resp.body
    assert row_counts(gsp.store) == before
