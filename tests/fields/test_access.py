"""Audited, role-limited reads of encrypted fields (``sp.fields.reader``)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from shopprivacy import ShopPrivacy
from shopprivacy.doctor import _field_reads
from shopprivacy.errors import AccessDenied, AuditChainError, ConfigurationError, InvalidInput
from shopprivacy.fields import AccessPolicy, FieldsSettings, Identity, RoleAccess, current_reader, reading_as
from shopprivacy.fields.access_log import DENIED_ACTION, READ_ACTION
from shopprivacy.fields.tables import field_reads
from shopprivacy.rights.model import Subject
from shopprivacy.settings import Settings

POLICY = AccessPolicy(roles={"support": RoleAccess(read=["customers.*"], deny=["customers.iban"]),
                             "finance": RoleAccess(read=["customers.iban", "orders.*"])})


@pytest.fixture
def psp(settings, store):
    app = ShopPrivacy(settings.model_copy(update={"fields": FieldsSettings(access=POLICY)}), store=store)
    yield app
    app.close()


def _tokens(sp, n, *, column="customers.email"):
    return [(cid, sp.fields.encrypt(f"user{cid}@example.com", context=column, row=cid, subject=f"c{cid}"))
            for cid in range(n)]


def test_a_page_of_fifty_customers_costs_one_audit_entry_naming_fields_not_values(sp):
    rows = _tokens(sp, 50)
    before = sp.audit.head()[0]
    with sp.fields.reader(actor="staff:7", purpose="support ticket 123", role="support") as reader:
        values = [reader.decrypt(tok, context="customers.email", row=cid) for cid, tok in rows]
    assert values == [f"user{cid}@example.com" for cid, _ in rows]
    new = [e for e in sp.audit.entries(limit=100) if e.seq > before]
    assert [e.action for e in new] == [READ_ACTION]
    [entry] = new
    assert entry.actor == "staff:7" and entry.fields == ("customers.email",)
    assert entry.meta["subjects"] == 50 and entry.meta["reads"] == 50 and entry.meta["purpose"] == "support ticket 123"
    with sp.store.begin(write=False) as conn:
        stored = conn.execute(select(field_reads)).mappings().all()
    assert len(stored) == 50 and all("example.com" not in str(dict(r)) for r in stored)
    assert {r["subject"] for r in stored} == {sp.fields.subject_keys.key_subject(f"c{cid}") for cid, _ in rows}


def test_the_subject_of_a_keyring_token_is_named_by_the_caller(sp):
    token = sp.fields.encrypt("+33612345678", context="orders.phone", row="o1")
    with sp.fields.reader(actor="staff:7", purpose="shipping") as reader:
        assert reader.decrypt(token, context="orders.phone", row="o1", subject="c1") == "+33612345678"
        assert reader.decrypt(None, context="orders.phone", row="o1") is None
    [access] = sp.fields.access_log.of(["c1"])
    assert access.fields == ("orders.phone",) and access.purpose == "shipping" and access.reads == 1


def test_a_denied_read_raises_is_audited_and_reveals_nothing(psp):
    [(cid, token)] = _tokens(psp, 1, column="customers.iban")
    reader = psp.fields.reader(actor="staff:9", purpose="refund", role="support")
    with pytest.raises(AccessDenied, match="'support' may not read field 'customers.iban'"):
        reader.decrypt(token, context="customers.iban", row=cid, subject=f"c{cid}")
    [entry] = psp.audit.entries(action=DENIED_ACTION)
    assert entry.actor == "staff:9" and entry.fields == ("customers.iban",) and entry.meta["role"] == "support"
    assert reader.flush() is None  # nothing was read
    with pytest.raises(AccessDenied):  # an undeclared role reads nothing once roles are declared
        psp.fields.reader(actor="staff:1", purpose="x", role="intern").decrypt(token, context="customers.iban",
                                                                                row=cid)
    finance = psp.fields.reader(actor="staff:2", purpose="refund", role="finance")
    assert finance.decrypt(token, context="customers.iban", row=cid).startswith("user")


def test_without_declared_roles_every_read_is_allowed_and_audited(sp):
    [(cid, token)] = _tokens(sp, 1)
    with sp.fields.reader(actor="staff:3", purpose="look-up") as reader:
        assert reader.allows("anything.at_all")
        reader.decrypt(token, context="customers.email", row=cid)
    assert [e.action for e in sp.audit.entries(action=READ_ACTION)] == [READ_ACTION]


def test_policy_and_identity_errors_are_one_line_and_clear(settings):
    with pytest.raises(ConfigurationError) as err:
        Settings.build({**settings.model_dump(mode="json", exclude={"keyset"}),
                        "fields": {"access": {"roles": {"support": {"raed": ["customers.*"]}}}}})
    assert str(err.value).endswith("did you mean SHOPPRIVACY_FIELDS__ACCESS__ROLES__SUPPORT__READ?")
    with pytest.raises(ConfigurationError, match="not a field pattern"):
        Settings.build({"fields": {"access": {"roles": {"support": {"read": ["customers email"]}}}}})
    with pytest.raises(ConfigurationError, match="role"):
        Settings.build({"fields": {"access": {"roles": {"bad role!": {}}}}})
    env = Settings.from_env({"SHOPPRIVACY_FIELDS__ACCESS__ROLES": '{"support": {"read": ["customers.*"]}}'})
    assert env.fields.access.allows("support", "customers.email") and not env.fields.access.allows("x", "a.b")


@given(actor=st.text(max_size=130), purpose=st.text(max_size=210), role=st.none() | st.text(max_size=70))
def test_reader_identities_are_checked(actor, purpose, role):
    from shopprivacy.fields import Identity

    try:
        who = Identity(actor, purpose, role)
    except InvalidInput:
        return
    assert 0 < len(who.actor) <= 120 and 0 < len(who.purpose) <= 200


def test_an_edited_deleted_or_inserted_read_row_fails_audit_verify(sp):
    rows = _tokens(sp, 3)
    with sp.fields.reader(actor="staff:7", purpose="support") as reader:
        for cid, tok in rows:
            reader.decrypt(tok, context="customers.email", row=cid)
    sp.audit.verify()
    with sp.store.begin() as conn:
        conn.execute(update(field_reads).where(field_reads.c.id == 1).values(actor="staff:99"))
    with pytest.raises(AuditChainError, match="field-read rows differ"):
        sp.audit.verify()
    with sp.store.begin() as conn:
        conn.execute(update(field_reads).where(field_reads.c.id == 1).values(actor="staff:7"))
        conn.execute(field_reads.delete().where(field_reads.c.id == 2))
    with pytest.raises(AuditChainError, match="field-read rows differ"):
        sp.audit.verify()


def test_the_subjects_export_says_who_read_their_data(sp):
    token = sp.fields.encrypt("Jane", context="customers.first_name", row=1, subject="gid://shopify/Customer/77")
    with sp.fields.reader(actor="staff:5", purpose="order problem", role="support") as reader:
        reader.decrypt(token, context="customers.first_name", row=1)
    out = sp.rights.sdk_source.export(Subject(customer_id="gid://shopify/Customer/77"))
    [access] = out["data_access"]
    assert access["actor"] == "staff:5" and access["purpose"] == "order problem"
    assert access["fields"] == ["customers.first_name"] and access["role"] == "support"
    assert "data_access" not in sp.rights.sdk_source.export(Subject(customer_id="gid://shopify/Customer/78"))


def test_doctor_reports_actors_with_unusual_read_volume(settings, store):
    tight = settings.model_copy(update={"fields": FieldsSettings(access=AccessPolicy(unusual_daily_reads=5))})
    app = ShopPrivacy(tight, store=store)
    try:
        rows = _tokens(app, 8)
        assert _field_reads(app).level == "ok"
        with app.fields.reader(actor="staff:13", purpose="export to spreadsheet") as reader:
            for cid, tok in rows:
                reader.decrypt(tok, context="customers.email", row=cid)
        with app.fields.reader(actor="staff:14", purpose="one look") as reader:
            reader.decrypt(rows[0][1], context="customers.email", row=rows[0][0])
        finding = _field_reads(app)
        assert finding.level == "warning" and "staff:13 (8 reads)" in finding.message
        assert "staff:14" not in finding.message
    finally:
        app.close()


def test_reading_as_makes_the_reader_current_and_writes_its_batch(sp):
    [(cid, token)] = _tokens(sp, 1)
    reader = sp.fields.reader(actor="staff:7", purpose="support")
    assert current_reader() is None
    with reading_as(reader):
        assert current_reader() is reader
        current_reader().decrypt(token, context="customers.email", row=cid)
    assert current_reader() is None
    assert len(sp.audit.entries(action=READ_ACTION)) == 1


def test_read_rows_follow_the_audit_logs_truncation(sp):
    from datetime import timedelta

    rows = _tokens(sp, 2)
    with sp.fields.reader(actor="staff:7", purpose="support") as reader:
        reader.decrypt(rows[0][1], context="customers.email", row=rows[0][0])
    assert sp.fields.access_log.of(["c0"])
    sp.audit.truncate(before=sp.clock() + timedelta(seconds=1))
    assert sp.fields.access_log.of(["c0"]) == []
    sp.audit.verify()


def test_start_reading_opens_a_reader_for_an_identity_until_finished(psp):
    [(cid, token)] = _tokens(psp, 1)
    finish = psp.fields.start_reading(Identity(actor="staff:7", purpose="support", role="support"))
    reader = current_reader()
    assert reader is not None and (reader.who.actor, reader.who.role) == ("staff:7", "support")
    reader.decrypt(token, context="customers.email", row=cid)
    with pytest.raises(AccessDenied):
        reader.decrypt(token, context="customers.iban", row=cid)
    finish()
    assert current_reader() is None
    [entry] = psp.audit.entries(action=READ_ACTION)
    assert entry.actor == "staff:7"
