import json

import pytest
from sqlalchemy import select

from shopprivacy.errors import SuppressedRecipient
from shopprivacy.rights.model import Subject
from shopprivacy.sms.tables import sms_subjects

WORDING = "Text me offers. Reply STOP to opt out."


def test_export_rectify_and_erase_through_the_rights_source(ssp, store):
    ssp.sms.opt_in("+33612345678", "marketing", wording=WORDING, source="signup", customer_ref="cu_1")
    ssp.sms.opt_in("+33698765432", "vip", wording=WORDING, source="account", customer_ref="cu_1")
    ssp.sms.opt_out("+33612345678", "marketing")
    source = ssp.sms.rights_source()
    ssp.rights.register_source(source)
    subject = Subject(phone="06 12 34 56 78", customer_id="cu_1")
    assert source.find(subject) == 3
    exported = source.export(subject)
    json.dumps(exported)
    assert [n["number"] for n in exported["sms"]] == ["+33612345678", "+33698765432"]
    assert exported["sms"][0]["programs"]["marketing"] == "unsubscribed"
    assert source.export(Subject(phone="not a number")) == {}

    receipt = source.rectify(subject, {"phone": "+33 6 11 22 33 44"})
    assert receipt.fields[0].outcome == "corrected" and ssp.sms.is_suppressed("+33611223344", "marketing")

    receipt = source.erase(subject)
    assert {f.field: f.outcome for f in receipt.fields} == {
        "sms.number": "erased", "sms.suppression": "retained", "sms.consent_history": "retained"}
    with store.begin(write=False) as conn:
        rows = conn.execute(select(sms_subjects.c.address, sms_subjects.c.customer_ref)).all()
    assert len(rows) == 2 and all(r.address is None and r.customer_ref is None for r in rows)
    for number in ("+33612345678", "+33698765432"):
        assert ssp.sms.is_suppressed(number)  # erased, and never texted again
        with pytest.raises(SuppressedRecipient):
            ssp.sms.guard(number, "vip")
    again = source.erase(subject)  # idempotent: nothing left to shred
    assert again.fields[0].rows == 0 and ssp.sms.is_suppressed("+33612345678")
