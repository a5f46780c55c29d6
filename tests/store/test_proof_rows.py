"""Proof rows under the audit chain (issue 20, "Why" 2): ``audit verify`` names an edited, deleted or inserted
cookie-consent choice or e-mail consent event; retention's redaction and deletion are not tampering."""

import pytest
from sqlalchemy import delete, insert, select, update

from shopprivacy.consent.service import Choice
from shopprivacy.consent.tables import consent_records
from shopprivacy.email.tables import consent_events
from shopprivacy.errors import AuditChainError
from shopprivacy.store.proof import PROOF_ACTION


def run(sp, stmt):
    with sp.store.begin() as conn:
        conn.execute(stmt)


def choices(sp):
    ids = []
    for granted, method in ((frozenset(), "reject_all"), (frozenset({"analytics"}), "custom"),
                            (frozenset({"preferences"}), "custom")):
        cid, _ = sp.consent.record(Choice(granted=granted, method=method), ip="203.0.113.1", user_agent="UA")
        ids.append(cid)
    with sp.store.begin(write=False) as conn:
        return [r.id for r in conn.execute(select(consent_records.c.id).order_by(consent_records.c.id))]


def test_every_proof_row_is_covered_and_verifies(sp):
    choices(sp)
    sp.email.opt_in.record("jane@example.com", "newsletter", source="checkout", consent_text_version="v1")
    sp.email.unsubscribe_address("jane@example.com", "newsletter")
    entries = sp.audit.entries(action=PROOF_ACTION)
    assert [e.meta["table"] for e in entries] == ["sp_consent_records"] * 3 + ["sp_email_consent_events"] * 2
    assert all(len(str(e.meta["digest"])) == 64 for e in entries)
    sp.audit.verify()


def test_a_cookie_choice_edited_from_reject_to_accept_is_named(sp):
    first = choices(sp)[0]
    run(sp, update(consent_records).where(consent_records.c.id == first).values(
        method="accept_all", granted=["analytics", "marketing", "preferences", "sale_of_data"], denied=[]))
    with pytest.raises(AuditChainError, match=f"proof row {first} of sp_consent_records .* edited") as err:
        sp.audit.verify()
    assert err.value.kind == "proof"


def test_deleted_and_inserted_proof_rows_are_named(sp):
    ids = choices(sp)
    with sp.store.begin(write=False) as conn:
        row = dict(conn.execute(select(consent_records).where(consent_records.c.id == ids[1])).mappings().one())
    run(sp, delete(consent_records).where(consent_records.c.id == ids[1]))
    with pytest.raises(AuditChainError, match=f"proof row {ids[1]} of sp_consent_records.*deleted"):
        sp.audit.verify()
    run(sp, insert(consent_records).values({**row, "id": ids[1]}))  # put back as it was: verifies again
    sp.audit.verify()
    run(sp, insert(consent_records).values({**row, "id": ids[-1] + 5, "consent_id": "c_forged"}))
    with pytest.raises(AuditChainError, match=f"proof row {ids[-1] + 5} of sp_consent_records.*inserted"):
        sp.audit.verify()


def test_an_edited_email_consent_event_is_named_and_redaction_is_not(sp):
    sp.email.opt_in.record("jane@example.com", "newsletter", source="checkout", consent_text_version="v1",
                           ip="203.0.113.9", user_agent="UA")
    with sp.store.begin(write=False) as conn:
        rid = conn.execute(select(consent_events.c.id)).scalar_one()
    run(sp, update(consent_events).values(ip_hash=None, ua_hash=None))  # what retention's redaction does
    sp.audit.verify()
    run(sp, update(consent_events).values(text_version="v2"))
    with pytest.raises(AuditChainError, match=f"proof row {rid} of sp_email_consent_events .* edited"):
        sp.audit.verify()


def test_retention_deleting_old_proof_and_redacting_hashes_is_not_tampering(settings, store, clock):
    from shopprivacy import ShopPrivacy

    sp = ShopPrivacy(settings, store=store, clock=clock)
    old = choices(sp)
    sp.email.opt_in.record("jane@example.com", "newsletter", source="checkout", consent_text_version="v1",
                           ip="203.0.113.9", user_agent="UA")
    clock.advance(days=3 * 365 + 2)
    new = choices(sp)[len(old):]
    sp.retention.sweep(["sdk.consent.proof", "sdk.email.proof_network_hashes"])
    with sp.store.begin(write=False) as conn:
        left = [r.id for r in conn.execute(select(consent_records.c.id).order_by(consent_records.c.id))]
        assert conn.execute(select(consent_events.c.ip_hash)).scalar_one() is None
    assert left == new and not set(old) & set(left)
    sp.audit.verify()
    run(sp, delete(consent_records).where(consent_records.c.id == new[1]))  # not retention's: named
    with pytest.raises(AuditChainError, match=f"proof row {new[1]} .* deleted"):
        sp.audit.verify()
    sp.close()
