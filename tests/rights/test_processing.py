"""Processing under concurrency: state re-checked under the lock, conditional completion, kept exports, lease
renewal; unverified requests cannot be extended and always expire."""

import pytest
from sqlalchemy import select

from shopprivacy.errors import ConflictError
from shopprivacy.rights import FieldOutcome, SourceReceipt
from shopprivacy.rights.tables import exports
from shopprivacy.web import Request

from .conftest import verify_all


class Source:
    """A shop source whose export and erase run a hook (a concurrent decision, a slow system)."""

    name = "crm"

    def __init__(self, hook=None):
        self.hook = hook
        self.calls = 0

    def find(self, subject):
        return 1

    def export(self, subject):
        self.calls += 1
        if self.hook:
            self.hook()
        return {"note": "vip"}

    def rectify(self, subject, changes):
        return SourceReceipt(self.name)

    def erase(self, subject):
        self.calls += 1
        if self.hook:
            self.hook()
        return SourceReceipt(self.name, (FieldOutcome("note", "erased", rows=1),), rows=1)


def test_a_reject_while_the_export_runs_is_never_reported_done(rsp, mailbox):
    req = rsp.rights.open("export", {"email": "jane@example.com"})
    rsp.rights.register_source(Source(lambda: rsp.rights.reject(req.id, "manifestly unfounded")))
    verify_all(rsp, mailbox, req.id)
    assert rsp.rights.process(req.id).state == "rejected"
    rsp.outbox.deliver_due()
    assert mailbox.of("rejected", req.id) and not mailbox.of("export_ready", req.id)
    with rsp.store.begin(write=False) as conn:
        assert conn.execute(select(exports).where(exports.c.request_id == req.id)).first() is None


def test_a_reject_before_the_job_lease_stops_the_work(rsp, mailbox, monkeypatch):
    crm = Source()
    rsp.rights.register_source(crm)
    req = rsp.rights.open("erase", {"email": "jane@example.com"}, verified_by="shopify")
    acquire = rsp.jobs.acquire

    def reject_then_acquire(name, **kw):
        rsp.rights.reject(req.id, "legal hold")
        return acquire(name, **kw)

    monkeypatch.setattr(rsp.jobs, "acquire", reject_then_acquire)
    assert rsp.rights.process(req.id).state == "rejected"
    assert crm.calls == 0 and not rsp.email.is_suppressed("jane@example.com")  # nothing was erased


def test_a_request_finished_by_another_worker_is_not_run_again(rsp, mailbox, monkeypatch):
    crm = Source()
    rsp.rights.register_source(crm)
    req = rsp.rights.open("export", {"email": "jane@example.com"}, verified_by="shopify")
    acquire = rsp.jobs.acquire
    nonces, raced = [], []

    def nonce_hash():
        with rsp.store.begin(write=False) as conn:
            return conn.execute(select(exports.c.nonce_hash).where(exports.c.request_id == req.id)).scalar()

    def other_worker_first(name, **kw):
        if not raced:  # the other run-due read the request, then finished it, before this one leased it
            raced.append(True)
            rsp.rights.process(req.id)
            nonces.append(nonce_hash())
        return acquire(name, **kw)

    monkeypatch.setattr(rsp.jobs, "acquire", other_worker_first)
    assert rsp.rights.process(req.id).state == "done"
    assert crm.calls == 1 and nonce_hash() == nonces[0]  # not exported again, the archive not replaced
    rsp.outbox.deliver_due()
    [notice] = mailbox.of("export_ready", req.id)
    resp = rsp.rights_web.download(Request("POST", "/privacy/rights/download",
                                           query={"t": notice.link.split("?t=")[1]}))
    assert resp.status == 200  # the link the person has still opens the archive


def test_a_live_export_is_kept_rather_than_replaced(rsp, mailbox):
    from shopprivacy.rights import records
    req = rsp.rights.open("export", {"email": "jane@example.com"}, verified_by="shopify")
    rsp.rights.process(req.id)
    with rsp.store.begin(write=False) as conn:
        before = conn.execute(select(exports).where(exports.c.request_id == req.id)).one()
    with rsp.store.begin() as conn:  # a stale worker that read the request before it was done
        records.set_state(conn, req.id, rsp.clock(), state="in_progress")
        row = records.load(conn, req.id)
        subject = records.subject_of(rsp.fields, conn, row)
    rsp.rights._processor._export(row, subject)
    with rsp.store.begin(write=False) as conn:
        after = conn.execute(select(exports).where(exports.c.request_id == req.id)).one()
    assert after.nonce_hash == before.nonce_hash and after.created_at == before.created_at
    rsp.outbox.deliver_due()
    assert len(mailbox.of("export_ready", req.id)) == 1


def test_the_job_lease_is_renewed_between_sources(rsp, clock):
    seen = []

    def slow():
        clock.advance(minutes=4)  # longer than the 5-minute lease over two sources
        seen.append(rsp.jobs.status(f"rights.process:{req.id}")["lease_until"] > clock())

    crm, erp = Source(slow), Source(slow)
    erp.name = "erp"
    rsp.rights.register_source(crm)
    rsp.rights.register_source(erp)
    req = rsp.rights.open("export", {"email": "jane@example.com"}, verified_by="shopify")
    assert rsp.rights.process(req.id).state == "done"
    assert seen == [True, True]


def test_an_unverified_request_cannot_be_extended_and_expires(rsp):
    req = rsp.rights.open("export", {"email": "jane@example.com"})
    with pytest.raises(ConflictError):
        rsp.rights.extend(req.id, "complex")
    assert rsp.rights.get(req.id).state == "received"
    rsp.clock.advance(hours=rsp.settings.rights.verify_max_age_hours + 1)
    assert rsp.run_due().tasks["rights"]["expired"] == 1
    assert rsp.rights.get(req.id).state == "expired"


def test_an_unverified_request_in_any_open_state_expires(rsp):
    from shopprivacy.rights.tables import requests
    req = rsp.rights.open("export", {"email": "jane@example.com"})
    with rsp.store.begin() as conn:  # as an older version let it be extended before verification
        conn.execute(requests.update().where(requests.c.id == req.id).values(state="extended"))
    rsp.clock.advance(days=10)
    assert rsp.run_due().tasks["rights"]["expired"] == 1
    assert rsp.rights.get(req.id).state == "expired"
