"""Sources: the SDK's data found by customer id, TableSource matching on order ids and on non-ASCII e-mail
addresses the way the SDK normalises them."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from shopprivacy.email.tables import email_subjects
from shopprivacy.errors import InvalidInput
from shopprivacy.rights import TableSource

meta = MetaData()
notes = Table("shop_notes", meta, Column("id", Integer, primary_key=True), Column("email", String(320)),
              Column("order_ref", String(60)), Column("note", String(200)))


@pytest.fixture
def notes_engine(db_url):
    engine = create_engine(db_url)
    meta.create_all(engine)
    yield engine
    engine.dispose()



def strict_engine(db_url):
    """An engine whose SQLite transactions really begin at BEGIN (the documented pysqlite set-up) and give up
    on a lock after 0.2 s, so a write waiting on another open transaction fails instead of passing by luck."""
    from sqlalchemy import event

    if not db_url.startswith("sqlite"):
        return create_engine(db_url)
    engine = create_engine(db_url, connect_args={"timeout": 0.2})

    @event.listens_for(engine, "connect")
    def _no_pysqlite_begin(dbapi_conn, _record):
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")

    return engine

def test_erasure_by_customer_id_alone_erases_the_sdk_email_data(rsp):
    with rsp.store.begin() as conn:
        rsp.email.subjects.register(conn, "woo@example.com", customer_ref="77")
        rsp.email.subjects.register(conn, "other@example.com", customer_ref="78")
    req = rsp.rights.open("erase", {"customer_id": "77"}, verified_by="woocommerce", external_id="woo:del:77")
    assert rsp.rights.process(req.id).state == "in_progress"  # the platform erasure waits in the outbox
    with rsp.store.begin(write=False) as conn:
        rows = {r.customer_ref or "-": r for r in conn.execute(select(email_subjects)).all()}
    assert "77" not in rows and rows["78"].address is not None  # only that customer's address is dropped
    assert rsp.email.is_suppressed("woo@example.com") and not rsp.email.is_suppressed("other@example.com")
    sdk = {f.field: f for s in rsp.rights.receipt(req.id).sources if s.source == "shopprivacy" for f in s.fields}
    assert sdk["email.address"].outcome == "erased" and sdk["email.address"].rows == 1


def test_export_by_customer_id_includes_the_sdk_email_data(rsp):
    from shopprivacy.rights.model import Subject
    rsp.email.suppress("woo@example.com", "newsletter")
    with rsp.store.begin() as conn:
        rsp.email.subjects.register(conn, "woo@example.com", customer_ref="gid://shopify/Customer/77")
    data = rsp.rights.sdk_source.export(Subject(customer_id="gid://shopify/Customer/77"))
    [section] = data["email_of_customer"]
    assert section["on_file"]["address"] == "woo@example.com" and section["lists"]["newsletter"]["suppressed"]
    assert rsp.rights.sdk_source.export(Subject(customer_id="gid://shopify/Customer/1")) == {}


def test_table_source_matches_the_orders_the_platform_named(rsp, notes_engine):
    with notes_engine.begin() as conn:
        conn.execute(insert(notes), [
            {"id": 1, "email": None, "order_ref": "gid://shopify/Order/299938", "note": "gift wrap for Jane"},
            {"id": 2, "email": None, "order_ref": "gid://shopify/Order/280263", "note": "leave at door"},
            {"id": 3, "email": None, "order_ref": "gid://shopify/Order/1", "note": "someone else"}])
    rsp.rights.register_source(TableSource("notes", notes_engine, notes, subject_column="order_ref",
                                           match="order_id", fields=("order_ref", "note")))
    req = rsp.rights.open("erase", {"customer_id": "gid://shopify/Customer/191167"}, verified_by=rsp.adapter.name,
                          external_id="local:redact-1",
                          orders=["gid://shopify/Order/299938", "gid://shopify/Order/280263"])
    assert rsp.rights.process(req.id).state == "done"
    with notes_engine.connect() as conn:
        assert {r.id: r.note for r in conn.execute(select(notes)).all()} == {1: None, 2: None, 3: "someone else"}
    by_source = {s.source: {f.field: f for f in s.fields} for s in rsp.rights.receipt(req.id).sources}
    assert by_source["notes"]["note"].rows == 2
    assert by_source["shopprivacy"]["platform_orders"].outcome == "manual"
    assert by_source["shopprivacy"]["platform_orders"].rows == 2


def test_orders_are_validated_and_merged(rsp):
    with pytest.raises(InvalidInput):
        rsp.rights.open("erase", {"customer_id": "1"}, verified_by="shopify", orders="gid://shopify/Order/1")
    with pytest.raises(InvalidInput):
        rsp.rights.open("erase", {"customer_id": "1"}, verified_by="shopify", orders=["\x00"])
    a = rsp.rights.open("export", {"customer_id": "1"}, verified_by="shopify", orders=["o1"], external_id="s:1")
    b = rsp.rights.open("export", {"customer_id": "1"}, verified_by="shopify", orders=["o2", "o1"],
                        external_id="s:2")
    assert a.id == b.id
    with rsp.store.begin(write=False) as conn:
        from shopprivacy.rights import records
        assert records.subject_of(rsp.fields, conn, records.load(conn, a.id)).order_ids == ("o1", "o2")


@pytest.mark.parametrize(("stored", "typed"), [
    ("Straße@Example.de", "straße@example.de"),
    ("ÄÖ@ß.de", "äö@ss.de"),
    ("JANE@EXAMPLE.COM", "jane@example.com"),
    ("Ｊａｎｅ@example.com", "jane@example.com"),
])
def test_table_source_matches_addresses_as_the_sdk_normalises_them(rsp, notes_engine, stored, typed):
    with notes_engine.begin() as conn:
        conn.execute(insert(notes), [{"id": 1, "email": stored, "order_ref": None, "note": "x"},
                                     {"id": 2, "email": "someone@example.de", "order_ref": None, "note": "y"}])
    source = TableSource("notes", notes_engine, notes, subject_column="email", fields=("email", "note"))
    from shopprivacy.rights.model import Subject, parse_identity
    subject = Subject(email=parse_identity({"email": typed})["email"])
    assert source.find(subject) == 1
    assert [r["id"] for r in source.export(subject)["rows"]] == [1]
    assert source.erase(subject).rows == 1
    with notes_engine.connect() as conn:
        assert {r.id: r.email for r in conn.execute(select(notes)).all()} == {1: None, 2: "someone@example.de"}


def test_erasure_with_subject_keys_in_the_sdks_own_sqlite_file(rsp, db_url):
    """A shop table in the SDK's SQLite file, on an engine that really begins its transactions (SQLAlchemy's
    documented pysqlite set-up): shredding must not wait on the shop's own open write transaction."""
    if not db_url.startswith("sqlite"):
        pytest.skip("a SQLite locking case")

    engine = strict_engine(db_url)

    accounts = Table("shop_accounts", MetaData(), Column("id", Integer, primary_key=True),
                     Column("email", String(320)), Column("phone", String(400)), Column("key", String(60)))
    accounts.metadata.create_all(engine)
    token = rsp.fields.encrypt("+33612345678", context="shop_accounts.phone", row=1, subject="cust-1")
    with engine.begin() as conn:
        conn.execute(insert(accounts).values(id=1, email="jane@example.com", phone=token, key="cust-1"))
    rsp.rights.register_source(TableSource("accounts", engine, accounts, subject_column="email",
                                           fields=("email", "phone"), subject_key_column="key",
                                           cipher=rsp.fields, delete_rows=True))
    req = rsp.rights.open("erase", {"email": "jane@example.com"}, verified_by="staff", external_id="staff:1")
    rsp.rights.process(req.id)
    rsp.outbox.deliver_due()
    assert rsp.rights.get(req.id).state == "done"
    with engine.connect() as conn:
        assert conn.execute(select(accounts)).all() == []
    engine.dispose()


# -- rectify: a field written to several columns, tokens under the row's subject key ------------------------
people = Table("shop_people", MetaData(), Column("id", Integer, primary_key=True),
               Column("email_bidx", String(64), unique=True), Column("email", String(400)),
               Column("phone", String(400)), Column("name", String(200)), Column("customer_key", String(60)))


def _people_source(sp, engine, **kw):
    return TableSource("people", engine, people, subject_column="email_bidx", blind_indexed=True,
                       fields=("email", "phone", "name"), delete_rows=True,
                       encrypted={"email": "shop_people.email", "phone": "shop_people.phone"},
                       subject_key_column="customer_key", cipher=sp.fields,
                       rectify={"email": ("email", "email_bidx"), "phone": "phone", "name": "name"}, **kw)


def _add_person(sp, engine, pid, email, key, phone=None):
    enc = sp.fields.encrypt
    with engine.begin() as conn:
        conn.execute(insert(people).values(
            id=pid, email_bidx=sp.fields.blind_index(email, kind="email"), name="Jane",
            email=enc(email, context="shop_people.email", row=str(pid), subject=key),
            phone=enc(phone, context="shop_people.phone", row=str(pid), subject=key), customer_key=key))


@pytest.fixture
def people_engine(db_url):
    engine = create_engine(db_url)
    people.metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_rectify_writes_every_column_a_field_maps_to(rsp, people_engine):
    from shopprivacy.rights.model import Subject
    _add_person(rsp, people_engine, 1, "jane@example.com", "c1", "+33612345678")
    _add_person(rsp, people_engine, 2, "bob@example.com", "c2", "+33600000000")
    source = _people_source(rsp, people_engine)
    receipt = source.rectify(Subject(email="jane@example.com"),
                             {"email": "jane.doe@example.org", "phone": "+33711223344", "last_name": "Doe"})
    assert {f.field: (f.outcome, f.rows) for f in receipt.fields} == {
        "email": ("corrected", 1), "email_bidx": ("corrected", 1), "phone": ("corrected", 1)}
    assert source.find(Subject(email="jane@example.com")) == 0  # the blind index moved with the address
    [row] = source.export(Subject(email="Jane.Doe@example.org"))["rows"]
    assert (row["id"], row["email"], row["phone"]) == (1, "jane.doe@example.org", "+33711223344")
    [bob] = source.export(Subject(email="bob@example.com"))["rows"]
    assert (bob["email"], bob["phone"]) == ("bob@example.com", "+33600000000")
    nothing = source.rectify(Subject(email="nobody@example.com"), {"email": "x@example.com"})
    assert {f.field: f.outcome for f in nothing.fields} == {"email": "not_held", "email_bidx": "not_held"}


def test_a_corrected_value_is_shredded_with_the_rows_subject_key(rsp, people_engine):
    """Correct, then erase: the old and the new token (copies in a backup, say) are both crypto-shredded."""
    from shopprivacy.errors import ShreddedError
    _add_person(rsp, people_engine, 1, "jane@example.com", "c1", "+33612345678")
    rsp.rights.register_source(TableSource(
        "people", people_engine, people, subject_column="email_bidx", blind_indexed=True, fields=("phone",),
        encrypted={"phone": "shop_people.phone"}, subject_key_column="customer_key", cipher=rsp.fields,
        rectify={"phone": "phone"}))
    with people_engine.connect() as conn:
        old = conn.execute(select(people)).one()
    req = rsp.rights.open("rectify", {"email": "jane@example.com"}, verified_by="staff",
                          changes={"phone": "+33711223344"})
    assert rsp.rights.process(req.id).state == "done"
    with people_engine.connect() as conn:
        new = conn.execute(select(people)).one()
    assert rsp.fields.decrypt(new.phone, context="shop_people.phone", row="1") == "+33711223344"
    erase = rsp.rights.open("erase", {"email": "jane@example.com"}, verified_by="staff")
    assert rsp.rights.process(erase.id).state == "done"
    for token in (old.phone, new.phone):
        with pytest.raises(ShreddedError):
            rsp.fields.decrypt(token, context="shop_people.phone", row="1")


def test_a_correction_colliding_with_a_unique_column_writes_nothing(rsp, people_engine):
    from shopprivacy.errors import ConflictError
    from shopprivacy.rights.model import Subject
    _add_person(rsp, people_engine, 1, "jane@example.com", "c1", "+33612345678")
    _add_person(rsp, people_engine, 2, "bob@example.com", "c2")
    with people_engine.connect() as conn:
        before = conn.execute(select(people).order_by(people.c.id)).all()
    source = _people_source(rsp, people_engine)
    with pytest.raises(ConflictError) as raised:
        source.rectify(Subject(email="jane@example.com"), {"email": "bob@example.com", "phone": "+33711223344"})
    assert "bob@" not in str(raised.value)
    with people_engine.connect() as conn:
        assert conn.execute(select(people).order_by(people.c.id)).all() == before


def test_rectify_with_a_new_subject_key_in_the_sdks_own_database(rsp, db_url):
    """The shop's table in the SDK's own database; the row's subject has no key yet, so encrypting the
    correction creates it. On SQLite, with an engine that really begins its transactions, that must not
    wait on the shop's own write transaction."""

    from shopprivacy.rights.model import Subject
    engine = strict_engine(db_url)

    people.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(people).values(id=7, email_bidx=rsp.fields.blind_index("jo@example.com", kind="email"),
                                           customer_key="cust-new"))
    source = _people_source(rsp, engine)
    receipt = source.rectify(Subject(email="jo@example.com"), {"email": "jo@example.org", "phone": "+33711223344"})
    assert {f.field for f in receipt.fields if f.outcome == "corrected"} == {"email", "email_bidx", "phone"}
    [row] = source.export(Subject(email="jo@example.org"))["rows"]
    assert (row["email"], row["phone"]) == ("jo@example.org", "+33711223344")
    assert rsp.fields.shred("cust-new")  # the key was created for the correction, under the row's subject
    assert source.export(Subject(email="jo@example.org"))["rows"][0]["phone"] == "[crypto-shredded]"
    engine.dispose()


@pytest.mark.parametrize(("rectify", "message"), [
    ({"email": ("email", "no_such_column")}, "no column"),
    ({"email": ()}, "one or more column names"),
    ({"email": ("email", 3)}, "one or more column names"),
    ({"shoe_size": "name"}, "cannot be corrected"),
    ({"first_name": "name", "last_name": "name"}, "corrected by both"),
    ({"phone": ("phone", "email_bidx")}, "subject column"),
    ({"name": "id"}, "key column"),
])
def test_rectify_mappings_are_checked_at_construction(rsp, rectify, message):
    from shopprivacy.errors import ConfigurationError
    with pytest.raises(ConfigurationError, match=message):
        TableSource("people", "sqlite://", people, subject_column="email_bidx", blind_indexed=True,
                    fields=("email",), cipher=rsp.fields, rectify=rectify)
