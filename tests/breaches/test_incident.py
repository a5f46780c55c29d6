"""A full incident: opened, affected subjects computed from the SDK's data and audit, notices sent through the
outbox to each recipient once, the authority report exported."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shopprivacy.breaches.tables import breach_events, breach_subjects, breaches
from shopprivacy.email.tables import email_subjects
from shopprivacy.errors import ConflictError, InvalidInput
from shopprivacy.store.schema import outbox

from .conftest import add_customer, incident, register_address


@pytest.fixture
def shop(bsp, shop_engine, clock):
    """a@ is a customer and on the SDK's list; d@ only a customer; c@ only on the list, and unsubscribed in the
    breach window (an audited write); z@ on the list, untouched."""
    a, c, z = (register_address(bsp, x) for x in ("a@example.com", "c@example.com", "z@example.com"))
    add_customer(bsp, shop_engine, 1, "A@Example.com")
    add_customer(bsp, shop_engine, 2, "d@example.com")
    add_customer(bsp, shop_engine, 3, None)
    clock.advance(minutes=1)
    bsp.email.unsubscribe_address("c@example.com")
    clock.advance(hours=3)
    return {"a": a, "c": c, "z": z, "d": bsp.email.subjects.subject_of("d@example.com")}


def _subjects(sp, breach_id):
    with sp.store.begin(write=False) as conn:
        return {r.subject: r for r in conn.execute(select(breach_subjects)
                                                   .where(breach_subjects.c.breach_id == breach_id))}


def test_full_incident_from_opening_to_notices_and_export(bsp, shop, clock, mailbox):
    window = {"window_start": (clock.now - timedelta(hours=4)).isoformat(),
              "window_end": (clock.now - timedelta(hours=2)).isoformat()}
    doc = incident(clock, scope={"stores": ["shop_customers"], **window},
                   translations={"de": {"nature": "Eine Sicherung war öffentlich lesbar.",
                                        "consequences": "Phishing-Mails.", "measures": "Zugang gesperrt."}})
    b = bsp.breaches.open(doc)
    result = bsp.breaches.assess(b.id)
    assert result["counts"] == {"subjects": 3, "intelligible": 3, "reachable": 3, "unintelligible": 0,
                                "to_notify": 3, "unreachable": 0}
    assert result["stores"]["shop_customers"]["records"] == 3 and result["audit"]["subjects"] == 1
    found = _subjects(bsp, b.id)
    assert set(found) == {shop["a"], shop["c"], shop["d"]}  # z@ was neither in scope nor touched in the window
    assert found[shop["c"]].via == "audit" and found[shop["a"]].via == "shop_customers"
    assert bsp.breaches.get(b.id).exemption is None

    with pytest.raises(ConflictError, match="high risk"):
        bsp.breaches.notify(b.id)
    bsp.breaches.update(b.id, {"high_risk": True})
    with pytest.raises(InvalidInput, match="available"):
        bsp.breaches.notify(b.id, locale="xx")
    assert bsp.breaches.notify(b.id, locale="DE-at") == 3  # the file serving the tag, any case
    assert bsp.breaches.notify(b.id, locale="de") == 0  # once per recipient
    assert bsp.breaches.notices(b.id) == {"queued": 3}
    with bsp.store.begin(write=False) as conn:
        payloads = [r.payload for r in conn.execute(select(outbox).where(outbox.c.topic == "breach.notice"))]
    assert len(payloads) == 3 and "example.com" not in json.dumps(payloads)  # d@ travels encrypted

    bsp.run_due()
    assert sorted(n.to.lower() for n in mailbox.sent) == ["a@example.com", "c@example.com", "d@example.com"]
    notice = mailbox.sent[0]
    assert notice.locale == "de" and "Example Shop GmbH" in notice.subject and "Phishing-Mails." in notice.text
    assert "dpo@shop.example" in notice.text and "Zugang gesperrt." in notice.html and "<script" not in notice.html
    assert "a@example.com" not in repr(notice)
    assert bsp.breaches.notices(b.id) == {"sent": 3}
    bsp.run_due()
    assert len(mailbox.sent) == 3

    clock.advance(hours=30)
    bsp.breaches.report(b.id, reference="LDA-2026-17")
    report = json.loads(bsp.breaches.export(b.id))
    art = report["art_33_3"]
    assert art["a_nature"]["categories_of_data"] == ["e-mail addresses", "phone numbers"]
    assert art["a_nature"]["approximate_subjects"] == 3 and art["b_contact_point"].startswith("Data protection")
    assert art["c_likely_consequences"] and art["d_measures_taken_or_proposed"]
    assert report["timeline"]["reported_at"] and report["timeline"]["reasons_for_delay"] is None
    assert report["art_34"]["notices"] == {"sent": 3}
    assert [p["action"] for p in report["phases"]] == ["opened", "assessed", "updated", "notices_queued", "reported"]
    page = bsp.breaches.export(b.id, fmt="html")
    assert "Art. 33(3)(a)" in page and "LDA-2026-17" in page and "<script" not in page

    everything = json.dumps(report) + page
    with bsp.store.begin(write=False) as conn:
        for table in (breaches, breach_events, breach_subjects):
            everything += json.dumps([list(map(str, r)) for r in conn.execute(select(table))])
    assert "example.com" not in everything.replace("dpo@shop.example", "")  # pseudonyms and counts only
    bsp.audit.verify()
    sent = [e for e in bsp.audit.entries(action="breach.notice_sent")]
    assert {e.subject for e in sent} == set(_subjects(bsp, b.id)) and all(e.meta["breach"] == b.id for e in sent)


def test_html_report_escapes_what_the_operator_wrote(bsp, clock):
    b = bsp.breaches.open(incident(clock, nature="<script>alert(1)</script> & more", controller="Shop <b>"))
    page = bsp.breaches.export(b.id, fmt="html")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "Shop &lt;b&gt;" in page
    with pytest.raises(InvalidInput):
        bsp.breaches.export(b.id, fmt="pdf")


def test_encrypted_fields_need_no_notice_unless_the_keys_were_taken(bsp, shop, clock):
    scope = {"stores": ["shop_customers", "email"], "fields": ["shop_customers.phone", "email.address"]}
    b = bsp.breaches.open(incident(clock, scope=scope, high_risk=True))
    result = bsp.breaches.assess(b.id)
    # a, c, z from the e-mail store; d from the shop's table (its row without an address names nobody)
    assert result["counts"]["subjects"] == 4 and result["counts"]["unintelligible"] == 4
    exemption = bsp.breaches.get(b.id).exemption
    assert exemption.startswith("Art. 34(3)(a)") and "shop_customers.phone" in exemption
    assert bsp.breaches.notices(b.id) == {"not_needed": 4}
    assert bsp.breaches.notify(b.id) == 0

    bsp.breaches.update(b.id, {"scope": {**scope, "keys_compromised": True}})
    result = bsp.breaches.assess(b.id)
    assert result["counts"]["unintelligible"] == 0 and bsp.breaches.get(b.id).exemption is None
    assert bsp.breaches.notices(b.id) == {"to_send": 4}


def test_not_high_risk_is_recorded_as_the_reason_for_no_notices(bsp, shop, clock):
    b = bsp.breaches.open(incident(clock, high_risk=False))
    bsp.breaches.assess(b.id)
    assert bsp.breaches.get(b.id).exemption.startswith("Art. 34(1)")
    with pytest.raises(ConflictError):
        bsp.breaches.notify(b.id)


def test_a_failing_sender_is_tracked_per_recipient_and_retried(bsp, shop, clock, mailbox):
    b = bsp.breaches.open(incident(clock, high_risk=True))
    bsp.breaches.assess(b.id)
    mailbox.fail_with = OSError("smtp down")
    assert bsp.breaches.notify(b.id) == 2
    bsp.run_due()
    assert bsp.breaches.notices(b.id) == {"failing": 2}
    rows = _subjects(bsp, b.id).values()
    assert {r.last_error for r in rows} == {"OSError"} and {r.attempts for r in rows} == {1}
    mailbox.fail_with = None
    clock.advance(hours=2)
    bsp.run_due()
    assert bsp.breaches.notices(b.id) == {"sent": 2} and len(mailbox.sent) == 2


def test_an_address_erased_before_delivery_is_recorded_unreachable(bsp, shop, clock, mailbox):
    b = bsp.breaches.open(incident(clock, high_risk=True, scope={"stores": ["email"]}))
    assert bsp.breaches.assess(b.id)["counts"]["to_notify"] == 3
    bsp.breaches.notify(b.id)
    bsp.fields.shred(shop["z"])
    with bsp.store.begin() as conn:
        bsp.email.subjects.forget(conn, shop["z"])
    bsp.run_due()
    assert bsp.breaches.notices(b.id) == {"sent": 2, "unreachable": 1}


def test_notices_wait_for_a_sender(bsp, shop, clock, mailbox):
    bsp.breaches.set_sender(None)
    b = bsp.breaches.open(incident(clock, high_risk=True))
    bsp.breaches.assess(b.id)
    bsp.breaches.notify(b.id)
    bsp.run_due()
    assert bsp.breaches.notices(b.id) == {"queued": 2}
    bsp.breaches.set_sender(mailbox)
    clock.advance(hours=2)
    bsp.run_due()
    assert bsp.breaches.notices(b.id) == {"sent": 2}


def test_reassessing_never_queues_a_recipient_twice(bsp, shop, clock, mailbox):
    b = bsp.breaches.open(incident(clock, high_risk=True, scope={"stores": ["email"]}))
    bsp.breaches.assess(b.id)
    bsp.breaches.notify(b.id)
    where = email_subjects.c.subject == shop["z"]
    with bsp.store.begin() as conn:
        token = conn.execute(select(email_subjects.c.address).where(where)).scalar_one()
        bsp.email.subjects.forget(conn, shop["z"])  # gone before delivery: unreachable
    bsp.run_due()
    with bsp.store.begin() as conn:
        conn.execute(update(email_subjects).where(where).values(address=token))  # back on file
    bsp.breaches.assess(b.id)
    assert bsp.breaches.notify(b.id) == 0
    assert bsp.breaches.notices(b.id) == {"sent": 2, "unreachable": 1} and len(mailbox.sent) == 2
