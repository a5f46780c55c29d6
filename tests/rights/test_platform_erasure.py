"""Platform erasure: a receipt the platform marks pending is "accepted", never "done"; failures are retried
and recorded; a request waiting only for the platform takes no run-due slot."""

import pytest
from sqlalchemy import select

from shopprivacy.errors import PlatformError
from shopprivacy.platforms import ErasureReceipt
from shopprivacy.rights.tables import requests, steps


def test_an_erasure_the_platform_only_accepted_is_closed_with_its_own_notice(rsp, mailbox, monkeypatch):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane")

    def accepted(customer_id, *, idempotency_key):
        return ErasureReceipt(platform="local", customer_id=customer_id, pending=True,
                              retained={"customer": "erasure requested; the platform completes it"})

    monkeypatch.setattr(rsp.adapter, "erase_customer", accepted)
    req = rsp.rights.open("erase", {"email": "jane@example.com", "customer_id": cid}, verified_by="operator")
    assert rsp.rights.process(req.id).state == "in_progress"
    rsp.outbox.deliver_due()
    done = rsp.rights.get(req.id)
    assert done.state == "done"
    with rsp.store.begin(write=False) as conn:
        status = conn.execute(select(steps.c.status).where(steps.c.request_id == req.id,
                                                           steps.c.source == "platform:local")).scalar_one()
    assert status == "accepted"
    fields = {f.field: f for s in rsp.rights.receipt(req.id).sources if s.source == "platform:local"
              for f in s.fields}
    assert fields["customer"].outcome == "pending"
    rsp.outbox.deliver_due()
    assert mailbox.of("done_platform_pending", req.id) and not mailbox.of("done", req.id)


def test_a_platform_that_refuses_for_now_keeps_the_request_open_and_retries(rsp, mailbox, monkeypatch, clock):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane")
    real = rsp.adapter.erase_customer
    refuse = [True]

    def erase(customer_id, *, idempotency_key):
        if refuse[0]:
            raise PlatformError("the customer has a live subscription", retry_after=3600.0)
        return real(customer_id, idempotency_key=idempotency_key)

    monkeypatch.setattr(rsp.adapter, "erase_customer", erase)
    req = rsp.rights.open("erase", {"email": "jane@example.com", "customer_id": cid}, verified_by="operator")
    rsp.rights.process(req.id)
    report = rsp.outbox.deliver_due()
    assert report.retried == 1
    assert rsp.rights.get(req.id).state == "in_progress"
    assert rsp.rights.receipt(req.id).failures == {"platform:local": "platform:local: PlatformError"}
    assert rsp.adapter.customer(cid)["first_name"] == "Jane"
    refuse[0] = False
    clock.advance(hours=2)
    rsp.outbox.deliver_due()
    assert rsp.rights.get(req.id).state == "done" and rsp.adapter.customer(cid)["first_name"] is None
    assert rsp.rights.receipt(req.id).failures == {}
    rsp.outbox.deliver_due()
    assert mailbox.of("done", req.id)


def test_requests_waiting_for_the_platform_take_no_run_due_slot(rsp, monkeypatch, clock):
    cid = rsp.adapter.add_customer("jane@example.com")
    req = rsp.rights.open("erase", {"customer_id": cid}, verified_by="operator")
    assert rsp.rights.process(req.id).state == "in_progress"  # the platform erasure waits in the outbox
    with rsp.store.begin(write=False) as conn:
        ready = conn.execute(select(requests.c.id).where(rsp.rights._due.ready_filter(clock()))).scalars().all()
    assert req.id not in ready
    counts = rsp.rights.run_due(clock())
    assert counts["processed"] == counts["waiting"] == counts["failed"] == 0
    clock.advance(days=2)  # looked at again now and then, in case the outbox row was requeued by hand
    with rsp.store.begin(write=False) as conn:
        ready = conn.execute(select(requests.c.id).where(rsp.rights._due.ready_filter(clock()))).scalars().all()
    assert req.id in ready


def test_a_rejected_request_is_not_erased_on_the_platform(rsp):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane")
    req = rsp.rights.open("erase", {"customer_id": cid}, verified_by="operator")
    rsp.rights.process(req.id)
    rsp.rights.reject(req.id, "legal hold")
    rsp.outbox.deliver_due()
    assert rsp.adapter.customer(cid)["first_name"] == "Jane"
    assert rsp.rights.get(req.id).state == "rejected"


@pytest.mark.parametrize("pending", [True, False])
def test_erasure_notice_kind_depends_on_the_platform_receipt(rsp, mailbox, monkeypatch, pending):
    cid = rsp.adapter.add_customer("sam@example.com")
    real = rsp.adapter.erase_customer  # a receipt that says "erased" is read back: the shop really erases
    monkeypatch.setattr(rsp.adapter, "erase_customer", lambda customer_id, *, idempotency_key: ErasureReceipt(
        platform="local", customer_id=customer_id, pending=True) if pending
        else real(customer_id, idempotency_key=idempotency_key))
    req = rsp.rights.open("erase", {"customer_id": cid, "email": "sam@example.com"}, verified_by="operator")
    rsp.rights.process(req.id)
    rsp.outbox.deliver_due()
    rsp.outbox.deliver_due()
    kinds = [n.kind for n in mailbox.sent if n.request and n.request.id == req.id]
    assert kinds == ["done_platform_pending" if pending else "done"]


# -- read-back after the platform's erasure (issue 18, item 14) ----------------------------------------------------

def platform_lines(sp, request_id):
    return [f for s in sp.rights.receipt(request_id).sources if s.source == "platform:local" for f in s.fields]


def step_of(sp, request_id):
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(steps).where(steps.c.request_id == request_id,
                                                steps.c.source == "platform:local")).one()


def test_the_receipt_records_the_erasure_read_back_and_what_the_platform_keeps(rsp, mailbox):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane", phone="+33612345678")
    req = rsp.rights.open("erase", {"customer_id": cid}, verified_by="operator")
    rsp.rights.process(req.id)
    rsp.outbox.deliver_due()
    assert rsp.rights.get(req.id).state == "done" and step_of(rsp, req.id).status == "done"
    lines = platform_lines(rsp, req.id)
    assert [(f.outcome, f.reason) for f in lines if f.field == "customer"] == [("erased", "read back: erased on local")]
    kept = {f.field: f.reason for f in lines if f.reason.startswith("kept: ")}
    assert kept == {"orders.amount": "kept: bookkeeping records (commercial and tax law)",
                    "orders.created_at": "kept: bookkeeping records (commercial and tax law)"}
    assert "rights.platform_erasure_verified" in [a for _, a in rsp.rights.receipt(req.id).timeline]


def test_an_erasure_the_read_back_contradicts_is_sent_again_with_a_new_key(rsp, mailbox, monkeypatch):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane")
    real, keys = rsp.adapter.erase_customer, []

    def erase(customer_id, *, idempotency_key):
        keys.append(idempotency_key)
        if len(keys) == 1:  # says it erased, did not
            return ErasureReceipt(platform="local", customer_id=customer_id, erased=("customer.first_name",))
        return real(customer_id, idempotency_key=idempotency_key)

    monkeypatch.setattr(rsp.adapter, "erase_customer", erase)
    req = rsp.rights.open("erase", {"customer_id": cid}, verified_by="operator")
    rsp.rights.process(req.id)
    rsp.outbox.deliver_due()
    assert len(keys) == 2 and keys[0] != keys[1]  # the same key would be a no-op on the platform
    assert rsp.adapter.customer(cid)["first_name"] is None
    assert rsp.rights.get(req.id).state == "done"
    assert any(f.reason == "read back: erased on local" for f in platform_lines(rsp, req.id))
    rsp.outbox.deliver_due()
    assert mailbox.of("done", req.id)


def test_an_erasure_never_confirmed_by_the_read_back_is_flagged(rsp, mailbox, monkeypatch):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane")
    real = rsp.adapter.erase_customer
    monkeypatch.setattr(rsp.adapter, "erase_customer", lambda customer_id, *, idempotency_key: ErasureReceipt(
        platform="local", customer_id=customer_id, erased=("customer.first_name",)))
    req = rsp.rights.open("erase", {"customer_id": cid}, verified_by="operator")
    rsp.rights.process(req.id)
    report = rsp.outbox.deliver_due()
    assert report.dead == 1
    assert rsp.rights.get(req.id).state == "in_progress"  # never reported done
    assert rsp.rights.receipt(req.id).failures == {"platform:local": "platform:local: erasure not verified on the "
                                                                     "platform"}
    flagged = [f for f in platform_lines(rsp, req.id) if f.field == "customer"]
    assert [f.outcome for f in flagged] == ["manual"]
    assert "customer.first_name" in flagged[0].reason and "3 erasure(s)" in flagged[0].reason
    rsp.outbox.deliver_due()
    assert [n.channel for n in mailbox.of("platform_erasure_unverified", req.id)] == ["operator"]
    assert not mailbox.of("done", req.id)
    # the operator erases by hand, then requeues the dead letter: the read-back closes the request
    real(cid, idempotency_key="by-hand")
    dead = rsp.outbox.dead_letters()
    assert [d["topic"] for d in dead] == ["rights.platform_erase_check"]
    rsp.outbox.requeue(dead[0]["id"])
    rsp.outbox.deliver_due()
    assert rsp.rights.get(req.id).state == "done" and rsp.rights.receipt(req.id).failures == {}


def test_an_accepted_erasure_is_read_back_until_the_platform_completes_it(rsp, mailbox, monkeypatch, clock):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane")
    real = rsp.adapter.erase_customer
    monkeypatch.setattr(rsp.adapter, "erase_customer", lambda customer_id, *, idempotency_key: ErasureReceipt(
        platform="local", customer_id=customer_id, pending=True))
    req = rsp.rights.open("erase", {"customer_id": cid}, verified_by="operator")
    rsp.rights.process(req.id)
    rsp.outbox.deliver_due()
    assert rsp.rights.get(req.id).state == "done" and step_of(rsp, req.id).status == "accepted"
    assert any("read again later" in f.reason for f in platform_lines(rsp, req.id))
    real(cid, idempotency_key="the platform's own schedule")
    clock.advance(days=2)
    rsp.outbox.deliver_due()
    assert step_of(rsp, req.id).status == "done"
    lines = platform_lines(rsp, req.id)
    assert [(f.field, f.outcome) for f in lines if f.reason.startswith("read back")] == [("customer", "erased")]
    assert not any(f.outcome == "pending" for f in lines)


def test_a_read_back_that_fails_is_retried_by_the_outbox(rsp, monkeypatch, clock):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane")
    real, calls = rsp.adapter.verify_erasure, []

    def verify(customer_id):
        calls.append(customer_id)
        if len(calls) == 1:
            raise PlatformError("timed out")
        return real(customer_id)

    monkeypatch.setattr(rsp.adapter, "verify_erasure", verify)
    req = rsp.rights.open("erase", {"customer_id": cid}, verified_by="operator")
    rsp.rights.process(req.id)
    assert rsp.outbox.deliver_due().retried == 1
    assert rsp.rights.get(req.id).state == "in_progress"
    clock.advance(hours=1)
    rsp.outbox.deliver_due()
    assert rsp.rights.get(req.id).state == "done" and len(calls) == 2
