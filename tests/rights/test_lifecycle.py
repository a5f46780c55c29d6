"""Full lifecycle on SQLite and PostgreSQL: portal -> verification -> export / erase / rectify across the
SDK's data, a shop table (TableSource) and the local reference shop."""

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from shopprivacy.errors import ConflictError, ShreddedError
from shopprivacy.rights import archive
from shopprivacy.rights.tables import exports, identifiers, requests
from shopprivacy.web import Request

from .conftest import add_orders, confirm_new, orders, orders_source, verify_all

SAME_ORIGIN = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://shop.example"}


def portal_post(sp, body: bytes, **kw):
    return sp.rights_web.portal(Request("POST", "/privacy/rights", headers=SAME_ORIGIN, body=body, **kw))


def token(link):
    return link.split("?t=", 1)[1]


def download(sp, link, method="POST"):
    return sp.rights_web.download(Request(method, "/privacy/rights/download", query={"t": token(link)}))


def test_export_through_the_portal(rsp, shop_engine, mailbox):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane", last_name="Doe")
    add_orders(shop_engine, rsp, "Jane@Example.com", 3)
    add_orders(shop_engine, rsp, "other@example.com", 2, start=10, customer_key="c_2")
    rsp.rights.register_source(orders_source(shop_engine, rsp))
    rsp.email.suppress("jane@example.com", "newsletter", reason="manual")

    resp = portal_post(rsp, b"action=export&email=jane%40example.com", remote_addr="203.0.113.9")
    assert resp.status == 200 and b"mailbox" in resp.body.lower()
    [req] = rsp.rights.find()
    assert req.state == "received" and not req.verified and req.kind == "export" and req.regime == "gdpr"
    assert rsp.rights.process.__name__  # nothing runs before verification:
    with pytest.raises(ConflictError):
        rsp.rights.process(req.id)

    rsp.outbox.deliver_due()
    [notice] = mailbox.of("verify")
    assert notice.to == "jane@example.com" and notice.channel == "email"
    page = rsp.rights_web.verify(Request("GET", "/privacy/rights/verify", query={"t": token(notice.link)}))
    assert page.status == 200 and rsp.rights.get(req.id).state == "received"  # GET changes nothing
    verify_all(rsp, mailbox, req.id)
    assert rsp.rights.get(req.id).state == "verified"

    counts = rsp.run_due().tasks["rights"]
    assert counts["processed"] == 1
    assert rsp.rights.get(req.id).state == "done"
    rsp.outbox.deliver_due()
    link = mailbox.link("export_ready", req.id)
    assert download(rsp, link, "GET").status == 200  # a prefetch does not use the single download
    resp = download(rsp, link)
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(resp.body))
    data = json.loads(zf.read("data.json"))
    rows = data["sources"]["orders"]["rows"]
    assert [r["id"] for r in rows] == ["o0", "o1", "o2"]
    assert rows[0]["phone_token"] == "+33612345678"  # encrypted fields decrypted
    assert data["sources"]["platform:local"]["customer"]["id"] == cid
    sdk = data["sources"]["shopprivacy"]["email"]
    assert sdk["lists"]["newsletter"]["suppressed"] is True
    assert sdk["on_file"]["address"] == "jane@example.com"
    report = zf.read("report.html").decode()
    assert "<script" not in report and "o2" in report and 'lang="en"' in report
    assert download(rsp, link).status == 410  # once only
    with rsp.store.begin() as conn:
        assert conn.execute(select(exports.c.archive).where(exports.c.request_id == req.id)).scalar() is None


def test_identifiers_are_never_plaintext_at_rest(rsp):
    req = rsp.rights.open("erase", {"email": "jane@example.com", "phone": "+33 6 12 34 56 78"})
    with rsp.store.begin() as conn:
        rows = conn.execute(select(identifiers).where(identifiers.c.request_id == req.id)).all()
        raw = json.dumps([list(map(str, r)) for r in rows]) + str(conn.execute(select(requests)).all())
    assert len(rows) == 2 and all(r.value.startswith("spf1.") for r in rows)
    assert "jane" not in raw and "612345678" not in raw


def test_erasure_across_sources_and_crypto_shredding_of_old_exports(rsp, shop_engine, mailbox):
    cid = rsp.adapter.add_customer("jane@example.com", first_name="Jane", phone="+33612345678")
    add_orders(shop_engine, rsp, "jane@example.com", 2)
    rsp.rights.register_source(orders_source(shop_engine, rsp))
    with shop_engine.connect() as conn:
        phone_backup = conn.execute(select(orders.c.phone_token).where(orders.c.id == "o0")).scalar_one()
    exp = rsp.rights.open("export", {"email": "jane@example.com"}, verified_by="shopify")
    rsp.rights.process(exp.id)
    with rsp.store.begin() as conn:
        backup = conn.execute(select(exports).where(exports.c.request_id == exp.id)).first()
    assert archive.open_sealed(rsp.fields, backup.archive, backup.wrapped_key, request_id=exp.id)

    er = rsp.rights.open("erase", {"email": "jane@example.com", "customer_id": cid}, verified_by="shopify",
                         external_id="shopify:wh-1")
    assert er.verified and er.state == "verified"
    assert rsp.rights.open("erase", {"customer_id": cid}, verified_by="shopify", external_id="shopify:wh-1").id == er.id
    after = rsp.rights.process(er.id)
    assert after.state == "in_progress"  # the platform erasure waits in the outbox: never reported done early
    rsp.outbox.deliver_due()
    assert rsp.rights.get(er.id).state == "done"

    receipt = rsp.rights.receipt(er.id).to_json()
    by_source = {s["source"]: {f["field"]: f for f in s["fields"]} for s in receipt["sources"]}
    assert by_source["orders"]["total"]["outcome"] == "retained"
    assert "tax law" in by_source["orders"]["total"]["reason"]
    assert by_source["orders"]["email"]["outcome"] == "erased"
    assert by_source["orders"]["name"]["outcome"] == "anonymised"
    assert by_source["orders"]["customer_key:subject-key"]["reason"] == "crypto-shredded"
    assert by_source["platform:local"]["customer.email"]["outcome"] == "anonymised"
    assert by_source["shopprivacy"]["email.suppression"]["outcome"] == "retained"
    assert [a for _, a in rsp.rights.receipt(er.id).timeline][:2] == ["rights.opened", "rights.verified"]

    with shop_engine.connect() as conn:
        rows = conn.execute(select(orders)).all()
    assert all(r.email is None and r.phone_token is None and r.name == "anonymised" and str(r.total) == "19.90"
               for r in rows)
    with pytest.raises(ShreddedError):  # a backup of the shop's table is unreadable too
        rsp.fields.decrypt(phone_backup, context="shop_orders.phone_token", row="o0")
    assert rsp.adapter.customer(cid)["first_name"] is None
    assert rsp.email.is_suppressed("jane@example.com")  # the hashed suppression stays: never re-mailed
    with pytest.raises(ShreddedError):  # the old export, and any backup copy of it, is unreadable now
        archive.open_sealed(rsp.fields, backup.archive, backup.wrapped_key, request_id=exp.id)
    rsp.outbox.deliver_due()
    assert mailbox.of("done", er.id)
    with rsp.store.begin() as conn:  # identifiers dropped once the requester was told
        assert conn.execute(select(identifiers.c.value).where(identifiers.c.request_id == er.id)).scalars().all() \
            == [None, None]
    rsp.audit.verify()


def test_a_request_the_platform_forwarded_leaves_the_platform_out(rsp):
    """Shopify's customers/redact: the platform erases its own data; only the app's data is ours to erase."""
    cid = rsp.adapter.add_customer("sam@example.com", first_name="Sam")
    er = rsp.rights.open("erase", {"email": "sam@example.com", "customer_id": cid}, channel="local",
                         verified_by=rsp.adapter.name, external_id="local:wh-9")
    assert rsp.rights.process(er.id).state == "done"  # nothing waits on a platform erasure
    sources = [s["source"] for s in rsp.rights.receipt(er.id).to_json()["sources"]]
    assert "platform:local" not in sources and "shopprivacy" in sources
    assert rsp.adapter.customer(cid)["first_name"] == "Sam"
    assert rsp.email.is_suppressed("sam@example.com")


class Flaky:
    name = "crm"

    def __init__(self):
        self.fail = True
        self.erased = 0

    def find(self, subject):
        return 1

    def export(self, subject):
        return {"note": "vip"}

    def rectify(self, subject, changes):
        from shopprivacy.rights import SourceReceipt
        return SourceReceipt(self.name)

    def erase(self, subject):
        from shopprivacy.rights import FieldOutcome, SourceReceipt
        if self.fail:
            raise ConnectionError("crm down")
        self.erased += 1
        return SourceReceipt(self.name, (FieldOutcome("note", "erased", rows=1),), rows=1)


def test_a_failing_source_keeps_the_request_in_progress_and_is_retried(sp, clock):
    from shopprivacy import ShopPrivacy
    app = ShopPrivacy(sp.settings, store=sp.store, clock=clock)
    crm = Flaky()
    app.rights.register_source(crm)
    req = app.rights.open("erase", {"email": "jane@example.com"}, verified_by="shopify")
    assert app.rights.process(req.id).state == "in_progress"
    receipt = app.rights.receipt(req.id)
    assert receipt.failures == {"crm": "crm: ConnectionError"}
    assert app.run_due().tasks["rights"]["processed"] == 0  # backing off
    crm.fail = False
    clock.advance(minutes=5)
    counts = app.run_due().tasks["rights"]
    assert counts["processed"] == 1 and app.rights.get(req.id).state == "done" and crm.erased == 1
    assert app.rights.receipt(req.id).failures == {}


def test_rectify_applies_corrections_through_sources(rsp, shop_engine, mailbox):
    add_orders(shop_engine, rsp, "jane@example.com", 2)
    rsp.rights.register_source(orders_source(shop_engine, rsp))
    rsp.email.suppress("jane@example.com", reason="manual")
    resp = portal_post(rsp, b"action=rectify&email=jane%40example.com&new_email=jane.doe%40example.com&first_name=")
    assert resp.status == 200
    [req] = rsp.rights.find(state="received")
    rsp.outbox.deliver_due()
    page = rsp.rights_web.verify(Request("GET", "/privacy/rights/verify",
                                         query={"t": token(mailbox.link("verify", req.id))}))
    assert "E-mail address: <bdi>j***@e******.com</bdi> → <bdi>j***@e******.com</bdi>" in page.body.decode()
    verify_all(rsp, mailbox, req.id)
    assert rsp.rights.process(req.id).state == "awaiting_new"  # the new address confirms first
    with shop_engine.connect() as conn:
        assert {r.email for r in conn.execute(select(orders)).all()} == {"jane@example.com"}
    confirm_new(rsp, mailbox, req.id)
    assert rsp.rights.process(req.id).state == "done"
    with shop_engine.connect() as conn:
        assert {r.email for r in conn.execute(select(orders)).all()} == {"jane.doe@example.com"}
    assert rsp.email.is_suppressed("jane.doe@example.com")  # the opt-out follows the person
    fields = {f.field: f.outcome for s in rsp.rights.receipt(req.id).sources for f in s.fields}
    assert fields["email"] == "corrected"
    assert [e.action for e in rsp.audit.entries(action="rights.rectified")]
