"""Opening, verification, merging, idempotency, enumeration, rate limits, decisions and run-due."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shopprivacy.errors import BadToken, ConflictError, ExpiredToken, InvalidInput, RateLimited
from shopprivacy.rights.tables import identifiers, requests
from shopprivacy.store.schema import outbox
from shopprivacy.web import Request

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://shop.example"}


def counts(sp):
    with sp.store.begin() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (requests, identifiers, outbox))


@pytest.mark.parametrize("identity", [{}, {"name": "Jane"}, {"email": "not-an-address"}, {"phone": "0612"},
                                      {"email": "a@b.c", "ssn": "1"}, {"customer_id": "\x00"}, "jane@example.com"])
def test_bad_identities_are_refused_and_write_nothing(sp, identity):
    before = counts(sp)
    with pytest.raises(InvalidInput):
        sp.rights.open("export", identity)
    assert counts(sp) == before


def test_platform_payloads_keep_their_usable_identifiers(sp):
    # Shopify's compliance payloads carry integer customer ids and phones without a country code
    req = sp.rights.open("erase", {"customer_id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
                         verified_by="shopify", external_id="shopify:wh-7")
    with sp.store.begin() as conn:
        kinds = sorted(conn.execute(select(identifiers.c.kind).where(identifiers.c.request_id == req.id)).scalars())
    assert kinds == ["customer_id", "email"] and req.verified
    [opened] = [e for e in sp.audit.entries(action="rights.opened") if e.meta["request"] == req.id]
    assert opened.meta["unusable"] == "phone"
    with pytest.raises(InvalidInput):  # from a person (not a platform), a malformed value is refused
        sp.rights.open("erase", {"email": "john@example.com", "phone": "555-625-1199"})
    with pytest.raises(InvalidInput):
        sp.rights.open("erase", {"phone": "555"}, verified_by="shopify")


def test_bad_kind_regime_changes(sp):
    for kwargs in ({"kind": "delete"}, {"kind": "export", "regime": "lgpd"}, {"kind": "export", "changes": {"a": 1}},
                   {"kind": "rectify", "changes": {"password": "x"}}, {"kind": "rectify"},
                   {"kind": "export", "verified_by": "Shopify Inc"}, {"kind": "export", "external_id": ""}):
        kind = kwargs.pop("kind")
        with pytest.raises(InvalidInput):
            sp.rights.open(kind, {"email": "jane@example.com"}, **kwargs)


def test_known_and_unknown_people_get_the_same_answer_and_the_same_work(rsp, mailbox):
    rsp.adapter.add_customer("known@example.com")
    rsp.email.suppress("known@example.com")
    answers, work = [], []
    for address in (b"known%40example.com", b"nobody%40example.com"):
        before = counts(rsp)
        resp = rsp.rights_web.portal(Request("POST", "/privacy/rights", headers=FORM,
                                             body=b"action=erase&email=" + address))
        answers.append((resp.status, resp.body))
        work.append(tuple(a - b for a, b in zip(counts(rsp), before, strict=True)))
    assert answers[0] == answers[1] and work[0] == work[1] == (1, 1, 1)
    rsp.outbox.deliver_due()  # both get a link at the address they typed: only its owner learns anything
    assert sorted(n.to for n in mailbox.of("verify")) == ["known@example.com", "nobody@example.com"]


def test_rate_limits_per_identity_and_per_ip(rsp):
    s = rsp.settings.rights
    for _ in range(s.rate_limit_identity):
        rsp.rights.open("export" if _ % 2 else "erase", {"email": "jane@example.com"}, ip="203.0.113.1")
    with pytest.raises(RateLimited):
        rsp.rights.open("export", {"email": "JANE@example.com"}, ip="198.51.100.7")
    resp = rsp.rights_web.portal(Request("POST", "/privacy/rights", headers=FORM,
                                         body=b"action=export&email=jane%40example.com"))
    assert resp.status == 429
    for i in range(s.rate_limit_ip - s.rate_limit_identity):
        rsp.rights.open("export", {"email": f"p{i}@example.com"}, ip="203.0.113.1")
    with pytest.raises(RateLimited):
        rsp.rights.open("export", {"email": "fresh@example.com"}, ip="203.0.113.1")


def test_duplicates_merge_and_external_ids_are_idempotent(rsp):
    a = rsp.rights.open("erase", {"email": "jane@example.com"})
    b = rsp.rights.open("erase", {"email": "Jane@Example.com", "phone": "+33612345678"})
    assert a.id == b.id
    assert rsp.rights.open("export", {"email": "jane@example.com"}).id != a.id
    c = rsp.rights.open("erase", {"email": "jane@example.com"}, verified_by="shopify", external_id="shopify:1")
    assert c.id == a.id and c.verified  # the platform's verification joins the open request
    r1 = rsp.rights.open("rectify", {"email": "rect@example.com"}, changes={"first_name": "Jo"})
    r2 = rsp.rights.open("rectify", {"email": "rect@example.com"}, changes={"first_name": "Jo"})
    r3 = rsp.rights.open("rectify", {"email": "rect@example.com"}, changes={"first_name": "Joanna"})
    assert r1.id == r2.id != r3.id
    d = rsp.rights.open("export", {"customer_id": "gid-9"}, verified_by="shopify", external_id="shopify:2")
    assert rsp.rights.open("export", {"customer_id": "gid-9"}, verified_by="shopify", external_id="shopify:2") == d


def test_only_verified_identifiers_are_used(rsp, mailbox):
    req = rsp.rights.open("export", {"email": "jane@example.com", "phone": "+33612345678"})
    rsp.outbox.deliver_due()
    by_channel = {n.channel: n for n in mailbox.of("verify", req.id)}
    assert set(by_channel) == {"email", "sms"} and by_channel["sms"].to == "+33612345678"
    rsp.rights.verify(by_channel["email"].link.split("?t=")[1])
    with rsp.store.begin() as conn:
        from shopprivacy.rights import records
        subject = records.subject_of(rsp.fields, conn, records.load(conn, req.id))
    assert subject.email == "jane@example.com" and subject.phone is None
    assert rsp.run_due().tasks["rights"]["waiting"] == 1  # gives the phone time to be verified
    rsp.clock.advance(hours=rsp.settings.rights.verify_grace_hours + 1)
    assert rsp.run_due().tasks["rights"]["processed"] == 1


def test_tampered_foreign_and_expired_links(rsp, mailbox):
    req = rsp.rights.open("export", {"email": "jane@example.com"})
    other = rsp.rights.open("export", {"email": "john@example.com"})
    rsp.outbox.deliver_due()
    link = mailbox.link("verify", req.id).split("?t=")[1]
    with pytest.raises(BadToken):
        rsp.rights.verify(link[:-2] + ("AA" if link[-2:] != "AA" else "BB"))
    forged = rsp.rights._verification.signer.sign({"r": other.id, "k": "email", "b": "0" * 32})
    with pytest.raises(BadToken):
        rsp.rights.verify(forged)
    rsp.clock.advance(hours=rsp.settings.rights.verify_max_age_hours + 1)
    with pytest.raises(ExpiredToken):
        rsp.rights.verify(link)
    resp = rsp.rights_web.verify(Request("POST", "/privacy/rights/verify", query={"t": link}))
    assert resp.status == 400 and b"expired" in resp.body
    assert rsp.run_due().tasks["rights"]["expired"] == 2
    assert rsp.rights.get(req.id).state == "expired"


def test_extend_reject_reminders_overdue_and_ccpa_acknowledgement(rsp, mailbox):
    g = rsp.rights.open("export", {"email": "jane@example.com"}, verified_by="shopify")
    c = rsp.rights.open("erase", {"email": "john@example.com"}, regime="ccpa")
    assert c.acknowledge_by is not None and c.due_at == c.received_at + timedelta(days=45)
    rsp.outbox.deliver_due()
    assert rsp.rights.get(c.id).acknowledged_at is not None  # the first message to the requester confirms receipt
    e = rsp.rights.extend(g.id, "complex request: many systems")
    assert e.state == "extended" and e.due_at.month == (g.received_at.month + 2) % 12 + 1
    with pytest.raises(ConflictError):
        rsp.rights.extend(g.id, "again")
    with pytest.raises(InvalidInput):
        rsp.rights.extend(c.id, "")
    r = rsp.rights.reject(c.id, "manifestly unfounded")
    assert r.state == "rejected" and r.reject_reason == "manifestly unfounded"
    with pytest.raises(ConflictError):
        rsp.rights.reject(c.id, "twice")
    late = rsp.rights.open("erase", {"email": "late@example.com"})
    kept = rsp.rights.open("erase", {"email": "kept@example.com"}, verified_by="shopify")
    with rsp.store.begin() as conn:  # leave it waiting, as when a source stays down
        conn.execute(requests.update().where(requests.c.id == kept.id).values(
            next_attempt_at=rsp.clock() + timedelta(days=400)))
    rsp.clock.advance(days=25)
    out = rsp.run_due().tasks["rights"]
    assert out["reminders"] == 1 and out["expired"] == 1 and out["processed"] == 1  # g is answered
    rsp.outbox.deliver_due()
    [reminder] = mailbox.of("reminder")
    assert reminder.to == "dpo@shop.example" and reminder.channel == "operator" and reminder.request.id == kept.id
    rsp.clock.advance(days=40)
    out = rsp.run_due().tasks["rights"]
    assert out["reminders"] == 0 and out["overdue"] == 1  # reminded once; now listed as overdue
    assert [x.id for x in rsp.rights.find(overdue=True)] == [kept.id]
    assert rsp.rights.get(late.id).state == "expired" and rsp.rights.get(g.id).state == "done"


def test_identifiers_of_closed_requests_are_dropped_later(rsp):
    req = rsp.rights.open("export", {"email": "jane@example.com"}, verified_by="shopify")
    rsp.rights.process(req.id)
    rsp.clock.advance(days=rsp.settings.rights.keep_identifiers_days + 1)
    out = rsp.run_due().tasks["rights"]
    assert out["identifiers_dropped"] == 1 and out["exports_purged"] == 1
    with rsp.store.begin() as conn:
        row = conn.execute(select(identifiers).where(identifiers.c.request_id == req.id)).one()
    assert row.value is None and row.bidx == rsp.fields.blind_index("jane@example.com", kind="email")


def test_preferences_link_only_for_known_subscribers(rsp, mailbox):
    rsp.email.suppress("known@example.com", "newsletter")
    for address in (b"known%40example.com", b"nobody%40example.com"):
        resp = rsp.rights_web.portal(Request("POST", "/privacy/rights", headers=FORM,
                                             body=b"action=preferences&email=" + address))
        assert resp.status == 200
    rsp.outbox.deliver_due()
    [n] = mailbox.of("preferences")
    assert n.to == "known@example.com" and "/email/preferences?t=" in n.link


def test_redact_shop_is_idempotent_and_removes_everything(rsp, shop_engine):
    from .conftest import add_orders, orders, orders_source
    add_orders(shop_engine, rsp, "jane@example.com", 2)
    rsp.rights.register_source(orders_source(shop_engine, rsp))
    rsp.email.suppress("jane@example.com")
    req = rsp.rights.open("export", {"email": "jane@example.com"})
    receipt = rsp.rights.redact_shop(external_id="shopify:redact-1")
    assert receipt["state"] == "done"
    assert rsp.rights.redact_shop(external_id="shopify:redact-1") == receipt
    with shop_engine.connect() as conn:
        assert all(r.email is None for r in conn.execute(select(orders)).all())
    assert rsp.rights.get(req.id).state == "rejected"
    assert [e for e in rsp.audit.entries(action="rights.shop_redacted")]
    assert rsp.email.is_suppressed("jane@example.com")


def test_process_refuses_unverified_and_unknown(rsp):
    from shopprivacy.errors import NotFoundError
    req = rsp.rights.open("export", {"email": "jane@example.com"})
    with pytest.raises(ConflictError):
        rsp.rights.process(req.id)
    with pytest.raises(NotFoundError):
        rsp.rights.process("rr_nope")


@pytest.mark.parametrize("headers", [{"Content-Type": "application/x-www-form-urlencoded"},
                                     {**FORM, "Origin": "https://elsewhere.example"}])
def test_a_portal_post_from_nowhere_is_told_to_use_the_form_not_that_a_link_is_broken(rsp, headers):
    before = counts(rsp)
    resp = rsp.rights_web.portal(Request("POST", "/privacy/rights", headers=headers,
                                         body=b"action=erase&email=jane%40example.com"))
    page = resp.body.decode()
    assert resp.status == 403 and "This form could not be sent" in page and "This link cannot be used" not in page
    assert "open the form on our website" in page and counts(rsp) == before


def test_concurrent_run_due_expire_each_request_once(rsp):
    """Workers running ``run-due`` at once: one ``rights.expired`` entry per request, never one from each."""
    import threading

    ids = [rsp.rights.open("export", {"email": f"u{i}@example.com"}).id for i in range(30)]
    rsp.clock.advance(hours=rsp.settings.rights.verify_max_age_hours + 1)
    start, counts = threading.Barrier(3), []

    def work():
        start.wait()
        counts.append(rsp.rights.run_due(rsp.clock())["expired"])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 30, counts
    entries = [e for e in rsp.audit.entries(action="rights.expired", limit=1000)]
    assert len(entries) == len(ids)
