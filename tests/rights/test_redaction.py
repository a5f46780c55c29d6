"""Shop redaction through the other capabilities' public API (``fields.shred_all``, ``email.forget_all``)."""

import pytest
from sqlalchemy import select

from shopprivacy.email.tables import EMAIL_ADDRESS_CONTEXT, email_subjects
from shopprivacy.errors import ShreddedError


def test_redaction_makes_cached_subject_keys_unreadable_at_once(rsp):
    """The keys are shredded through ``fields``: this process's key cache forgets them in the same call
    (the raw update used before left them readable for ``subject_key_cache_seconds``)."""
    token = rsp.fields.encrypt("+33612345678", context="shop.phone", row="1", subject="c_1")
    assert rsp.fields.decrypt(token, context="shop.phone", row="1") == "+33612345678"  # the key is cached now
    receipt = rsp.rights.redact_shop(external_id="shopify:redact-cache")
    with pytest.raises(ShreddedError):
        rsp.fields.decrypt(token, context="shop.phone", row="1")
    [sdk] = [s for s in receipt["sources"] if s["source"] == "shopprivacy"]
    keys = next(f for f in sdk["fields"] if f["field"] == "subject_keys")
    assert keys["rows"] >= 1


def test_redaction_blanks_every_stored_address_and_counts_them(rsp):
    rsp.email.suppress("jane@example.com")
    rsp.email.suppress("joe@example.com")
    receipt = rsp.rights.redact_shop(external_id="shopify:redact-addresses")
    with rsp.store.begin(write=False) as conn:
        rows = conn.execute(select(email_subjects)).all()
    assert len(rows) == 2 and all(r.address is None and r.customer_ref is None for r in rows)
    [sdk] = [s for s in receipt["sources"] if s["source"] == "shopprivacy"]
    assert next(f for f in sdk["fields"] if f["field"] == "email.address")["rows"] == 2
    assert rsp.email.is_suppressed("jane@example.com") and rsp.email.is_suppressed("joe@example.com")
    assert EMAIL_ADDRESS_CONTEXT == "sp_email_subjects.address"
