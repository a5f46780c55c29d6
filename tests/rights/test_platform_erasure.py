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
