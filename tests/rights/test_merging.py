"""Merges into started requests, the forwarding platform across merges, and an erasure's effect on the
person's other requests."""

from sqlalchemy import select

from shopprivacy.rights import FieldOutcome, SourceReceipt
from shopprivacy.rights.tables import identifiers

from .conftest import verify_all


class ByCustomer:
    """A loyalty system keyed by the platform's customer id."""

    name = "loyalty"

    def __init__(self):
        self.erased_for = []

    def find(self, subject):
        return 0

    def export(self, subject):
        return {"points": 3} if subject.customer_id else {}

    def rectify(self, subject, changes):
        return SourceReceipt(self.name)

    def erase(self, subject):
        self.erased_for.append(subject.customer_id)
        if subject.customer_id is None:
            return SourceReceipt(self.name, (FieldOutcome("*", "not_held", "no customer_id to match on"),))
        return SourceReceipt(self.name, (FieldOutcome("points", "erased", rows=3),), rows=3)


class Flaky:
    name = "flaky"

    def __init__(self):
        self.calls = 0

    def find(self, subject):
        return 0

    def export(self, subject):
        return {}

    def rectify(self, subject, changes):
        return SourceReceipt(self.name)

    def erase(self, subject):
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("down")
        return SourceReceipt(self.name, (FieldOutcome("x", "erased"),))


def test_an_identifier_merged_into_a_half_done_erasure_is_used(rsp, mailbox):
    loyalty = ByCustomer()
    rsp.rights.register_source(loyalty)
    rsp.rights.register_source(Flaky())
    req = rsp.rights.open("erase", {"email": "jane@example.com"})
    verify_all(rsp, mailbox, req.id)
    assert rsp.rights.process(req.id).state == "in_progress"  # flaky failed; loyalty found nothing
    merged = rsp.rights.open("erase", {"email": "jane@example.com", "customer_id": "42"}, verified_by="shopify",
                             external_id="shopify:w1")
    assert merged.id == req.id
    rsp.rights.process(req.id)
    assert loyalty.erased_for == [None, "42"]
    fields = {f.field: f.outcome for s in rsp.rights.receipt(req.id).sources if s.source == "loyalty"
              for f in s.fields}
    assert fields == {"points": "erased"}


def test_an_identifier_verified_by_link_after_a_run_is_used(rsp, mailbox):
    loyalty = ByCustomer()
    rsp.rights.register_source(loyalty)
    rsp.rights.register_source(Flaky())
    req = rsp.rights.open("erase", {"email": "jane@example.com", "customer_id": "42"})
    rsp.outbox.deliver_due()
    email_link = [n for n in mailbox.of("verify", req.id) if n.channel == "email"]
    assert email_link  # the customer id's link goes to the address on file: none here
    rsp.rights.verify(email_link[0].link.split("?t=")[1])
    rsp.rights.process(req.id)
    assert loyalty.erased_for == [None]
    with rsp.store.begin() as conn:  # the customer id is confirmed later (e.g. through the address on file)
        ident = conn.execute(select(identifiers).where(identifiers.c.request_id == req.id,
                                                       identifiers.c.kind == "customer_id")).one()
    token = rsp.rights._verification.signer.sign({"r": req.id, "k": "customer_id", "b": ident.bidx})
    rsp.rights.verify(token)
    rsp.rights.process(req.id)
    assert loyalty.erased_for == [None, "42"]


def test_a_platform_request_merged_into_a_link_verified_one_leaves_the_platform_out(rsp, mailbox):
    cid = rsp.adapter.add_customer("sam@example.com", first_name="Sam")
    req = rsp.rights.open("erase", {"email": "sam@example.com"})
    verify_all(rsp, mailbox, req.id)
    merged = rsp.rights.open("erase", {"email": "sam@example.com", "customer_id": cid},
                             verified_by=rsp.adapter.name, external_id="local:wh-1")
    assert merged.id == req.id and merged.forwarded_by == rsp.adapter.name and merged.verified_by == "link"
    assert rsp.rights.process(req.id).state == "done"  # nothing waits on a platform erasure
    sources = [s.source for s in rsp.rights.receipt(req.id).sources]
    assert "platform:local" not in sources
    assert rsp.adapter.customer(cid)["first_name"] == "Sam"
    assert rsp.rights.receipt(req.id).to_json()["forwarded_by"] == "local"


def test_a_person_request_merged_into_a_platform_one_keeps_the_platform_out(rsp, mailbox):
    cid = rsp.adapter.add_customer("sam@example.com", first_name="Sam")
    req = rsp.rights.open("erase", {"email": "sam@example.com", "customer_id": cid},
                          verified_by=rsp.adapter.name, external_id="local:wh-2")
    assert rsp.rights.open("erase", {"email": "sam@example.com"}, verified_by="operator").id == req.id
    assert rsp.rights.get(req.id).forwarded_by == rsp.adapter.name
    assert rsp.rights.process(req.id).state == "done"
    assert rsp.adapter.customer(cid)["first_name"] == "Sam"


def test_an_erasure_closes_the_persons_other_open_requests_before_wiping_them(rsp, mailbox):
    export = rsp.rights.open("export", {"email": "jane@example.com"})
    rectify = rsp.rights.open("rectify", {"email": "jane@example.com"}, changes={"first_name": "Jo"})
    other = rsp.rights.open("export", {"email": "john@example.com"})
    erase = rsp.rights.open("erase", {"email": "jane@example.com"}, verified_by="operator")
    assert rsp.rights.process(erase.id).state == "done"
    for rid in (export.id, rectify.id):
        closed = rsp.rights.get(rid)
        assert closed.state == "rejected" and closed.reject_reason == f"superseded by erasure request {erase.id}"
    assert rsp.rights.get(other.id).state == "received"  # someone else's request is untouched
    with rsp.store.begin(write=False) as conn:
        kept = conn.execute(select(identifiers.c.value).where(identifiers.c.request_id == other.id)).scalar_one()
    assert kept is not None
    assert [e.meta["superseded_by"] for e in rsp.audit.entries(action="rights.rejected")] == [erase.id, erase.id]
