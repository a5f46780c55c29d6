"""Restrict (GDPR Art. 18), object (Art. 21) and opt out of sale/sharing (CCPA): the state they leave on the
person, who honours it (renewals, the marketing send guard, retention, processor exports, the platform, the
consent state of a signed-in customer), lifting, idempotent repeats and bad input; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, insert, select

from shopprivacy import ShopPrivacy
from shopprivacy.email.settings import EmailSettings, MailingList
from shopprivacy.errors import InvalidInput, ProcessingRestricted, SuppressedRecipient
from shopprivacy.platforms import SaleOptOut, SaleOptOutReceipt
from shopprivacy.platforms.local import LocalShop
from shopprivacy.retention import Exemption, Rule
from shopprivacy.rights.settings import RightsSettings
from shopprivacy.store.restrictions import subject_restrictions
from shopprivacy.store.schema import outbox

from ..renewals.conftest import UNTIL, add_subs

JANE = "jane0@example.com"


class SaleShop(LocalShop):
    """The local reference shop, also recording opt-outs of sale (as Shopify and WooCommerce do)."""

    def __init__(self, engine):
        super().__init__(engine)
        self.opted_out: list[tuple[str | None, str | None, str]] = []
        self.fail = 0

    def opt_out_of_sale(self, opt_out: SaleOptOut, *, idempotency_key: str) -> SaleOptOutReceipt:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("platform down")
        self.opted_out.append((opt_out.customer_id, opt_out.email, idempotency_key))
        return SaleOptOutReceipt(platform=self.name, customer_id=opt_out.customer_id, where="customer.sale_opt_out")


@pytest.fixture
def esp(settings, store, clock, db_url, mailbox):
    """A facade over a shop that records sale opt-outs, two marketing lists and a transactional one."""
    lists = {"newsletter": MailingList(), "offers": MailingList(),
             "receipts": MailingList(kind="transactional")}
    s = settings.model_copy(update={"platform_options": {"database_url": db_url}, "email": EmailSettings(lists=lists),
                                    "rights": RightsSettings(operator_email="dpo@shop.example")})
    shop = SaleShop(create_engine(db_url))
    app = ShopPrivacy(s, store=store, clock=clock, adapter=shop)
    app.rights.set_sender(mailbox)
    yield app
    app.close()


def _open(sp, kind, email=JANE, **kw):
    return sp.rights.open(kind, {"email": email}, verified_by="shop-login", **kw)


def _opt_in(sp, address, *lists):
    for list_id in lists:
        sp.email.opt_in.record(address, list_id, source="checkout", consent_text_version="v1", propagate=False)


def _restrictions(sp):
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(subject_restrictions)).all()


def test_a_restricted_subject_is_skipped_by_renewals_and_marketing(esp, mailbox):
    add_subs(esp.adapter, 3)
    _opt_in(esp, JANE, "newsletter")
    esp.email.guard(JANE, "newsletter")  # allowed before
    req = _open(esp, "restrict")
    assert esp.rights.process(req.id).state == "done"
    report = esp.renewals.run(esp.adapter, until=UNTIL)
    assert report.skipped["restricted"] == 1 and report.billed == 2
    with pytest.raises(ProcessingRestricted):
        esp.email.guard("Jane0@Example.com", "newsletter")
    esp.email.guard(JANE, "receipts")  # transactional mail is never blocked
    assert esp.restrictions.blocks({"email": JANE}, "processor_export")
    with pytest.raises(ProcessingRestricted, match="processor_export"):
        esp.restrictions.check({"email": JANE}, "processor_export")
    assert not esp.restrictions.blocks({"email": "other@example.com"}, "renewal")
    lines = {f.field: f for s in esp.rights.receipt(req.id).sources for f in s.fields}
    assert lines["subject_state"].outcome == "restricted"
    assert "rights.restrict" in [a for _, a in esp.rights.receipt(req.id).timeline]


def test_retention_keeps_a_restricted_subjects_rows_until_the_restriction_is_lifted(esp, db_url, mailbox):
    md = MetaData()
    leads = Table("shop_leads", md, Column("id", Integer, primary_key=True), Column("email", String(320)),
                  Column("created_at", DateTime))
    engine = create_engine(db_url)
    md.create_all(engine)
    old = datetime(2020, 1, 1)
    with engine.begin() as conn:
        conn.execute(insert(leads), [{"id": 1, "email": JANE, "created_at": old},
                                     {"id": 2, "email": "bob@example.com", "created_at": old}])
    esp.retention.add(Rule(name="shop.leads", entity="sql", database_url=db_url, table="shop_leads",
                           anchor="created_at", keep_for=timedelta(days=30),
                           exempt=(Exemption(kind="restricted", column="email"),), description="leads"))
    req = _open(esp, "restrict")
    esp.rights.process(req.id)
    plan = {p.rule: p for p in esp.retention.plan(["shop.leads"])}
    assert plan["shop.leads"].exempt == 1
    esp.retention.sweep(["shop.leads"])
    with engine.connect() as conn:
        assert [r.id for r in conn.execute(select(leads.c.id))] == [1]
    assert esp.rights.lift_restriction({"email": JANE}, reason="accuracy verified") == 1
    assert esp.rights.lift_restriction({"email": JANE}, reason="accuracy verified") == 0  # nothing left
    esp.retention.sweep(["shop.leads"])
    with engine.connect() as conn:
        assert list(conn.execute(select(leads.c.id))) == []
    esp.outbox.deliver_due()
    assert [n.request.id for n in mailbox.of("restriction_lifted")] == [req.id]  # told first (Art. 18(3))
    (row,) = _restrictions(esp)
    assert row.lifted_at is not None and row.lift_reason == "accuracy verified"  # kept as proof
    assert not esp.restrictions.blocks({"email": JANE}, "renewal")
    engine.dispose()


def test_an_objection_suppresses_every_marketing_list_and_profiling(esp):
    _opt_in(esp, JANE, "newsletter", "offers")
    req = _open(esp, "object")
    assert esp.rights.process(req.id).state == "done"
    assert esp.email.is_suppressed(JANE, None)
    for list_id in ("newsletter", "offers"):
        assert esp.email.is_suppressed(JANE, list_id)
        with pytest.raises(SuppressedRecipient):
            esp.email.guard(JANE, list_id)
    esp.email.guard(JANE, "receipts")
    assert esp.restrictions.blocks({"email": JANE}, "profiling")
    assert not esp.restrictions.blocks({"email": JANE}, "renewal")  # an objection does not stop the service
    lines = {f.field: f for s in esp.rights.receipt(req.id).sources for f in s.fields}
    assert lines["email.suppression"].rows == 1


def test_an_opt_out_of_sale_reaches_the_platform_through_the_outbox_and_the_consent_state(esp, mailbox):
    cid = esp.adapter.add_customer(JANE)
    req = _open(esp, "opt_out_sale")
    assert esp.rights.process(req.id).state == "in_progress"  # the platform's part waits in the outbox
    with esp.store.begin(write=False) as conn:
        rows = conn.execute(select(outbox.c.topic, outbox.c.ordering_key)
                            .where(outbox.c.topic == "rights.platform_sale_opt_out")).all()
    assert len(rows) == 1 and cid not in rows[0].ordering_key and JANE not in str(rows[0])
    esp.adapter.fail = 1
    esp.outbox.deliver_due()
    assert esp.adapter.opted_out == [] and esp.rights.get(req.id).state == "in_progress"
    esp.clock.advance(hours=1)
    esp.outbox.deliver_due()
    assert [(c, e) for c, e, _ in esp.adapter.opted_out] == [(cid, JANE)]
    assert esp.rights.get(req.id).state == "done"
    lines = {(s.source, f.field): f for s in esp.rights.receipt(req.id).sources for f in s.fields}
    assert lines[("platform:local", "sale_opt_out")].outcome == "opted_out"
    # the customer's consent: sale of data denied whatever their browser's cookie says
    assert esp.restrictions.consent_denials({"customer_id": cid}) == frozenset({"sale_of_data"})
    assert esp.restrictions.blocks({"email": JANE}, "sale")
    esp.outbox.deliver_due()
    assert [n.kind for n in mailbox.sent if n.request and n.request.id == req.id] == ["done"]


def test_a_request_rejected_before_delivery_is_not_sent_to_the_platform(esp):
    esp.adapter.add_customer(JANE)
    req = _open(esp, "opt_out_sale")
    esp.rights.process(req.id)
    esp.rights.reject(req.id, "not a California resident")
    esp.outbox.deliver_due()
    assert esp.adapter.opted_out == []


def test_repeats_are_idempotent(esp):
    esp.adapter.add_customer(JANE)
    first = _open(esp, "opt_out_sale")
    assert _open(esp, "opt_out_sale").id == first.id  # merged while open
    esp.rights.process(first.id)
    esp.outbox.deliver_due()
    second = _open(esp, "opt_out_sale")
    esp.rights.process(second.id)
    esp.outbox.deliver_due()
    assert esp.rights.get(second.id).state == "done"
    states = _restrictions(esp)
    assert {(r.kind, r.effect) for r in states} == {("email", "opt_out_sale"), ("customer_id", "opt_out_sale")}
    assert all(r.request_id == second.id and r.lifted_at is None for r in states)
    again = _open(esp, "restrict")
    assert esp.rights.process(again.id).state == "done"
    assert sum(1 for r in _restrictions(esp) if r.effect == "restrict") == 2


def test_bad_input_is_refused_without_writing(esp):
    with pytest.raises(InvalidInput):
        _open(esp, "restrict", changes={"first_name": "Jane"})
    with pytest.raises(InvalidInput, match="kind must be one of"):
        esp.rights.open("forget_me", {"email": JANE}, verified_by="shop-login")
    for bad in ({"effect": "erase"}, {"reason": ""}, {"reason": "x\x00"}):
        with pytest.raises(InvalidInput):
            esp.rights.lift_restriction({"email": JANE}, **{"reason": "ok", **bad})
    with pytest.raises(InvalidInput):
        esp.rights.lift_restriction({"mail": JANE}, reason="ok")
    with pytest.raises(InvalidInput, match="unknown purpose"):
        esp.restrictions.blocks({"email": JANE}, "sales")
    with pytest.raises(InvalidInput):
        esp.restrictions.blocks({"address": JANE}, "sale")
    assert _restrictions(esp) == []


def test_a_shop_redaction_keeps_the_state_and_says_so(esp):
    req = _open(esp, "object")
    esp.rights.process(req.id)
    receipt = esp.rights.redact_shop(external_id="shopify:redact-1")
    (sdk,) = [s for s in receipt["sources"] if s["source"] == "shopprivacy"]
    assert {f["field"]: f["outcome"] for f in sdk["fields"]}["subject_restrictions"] == "retained"
    assert esp.restrictions.blocks({"email": JANE}, "marketing")  # keyed hashes only: the objection stands
