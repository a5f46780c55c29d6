import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, insert, select

from shopprivacy import ShopPrivacy
from shopprivacy.errors import InvalidInput, RuleError, UnsupportedOperation
from shopprivacy.retention import Retention, Rule
from shopprivacy.store.schema import jobs, outbox
from shopprivacy.store.types import UTCDateTime

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=400)


@pytest.fixture
def shop_db(db_url):
    """A table of the shop's own database (same server, so the test runs on SQLite and PostgreSQL)."""
    engine = create_engine(db_url)
    md = MetaData()
    orders = Table("shop_orders", md, Column("id", Integer, primary_key=True), Column("email", String(200)),
                   Column("name", String(200)), Column("payment_ref", String(40)), Column("status", String(20)),
                   Column("payment_status", String(20)), Column("customer_id", String(20)),
                   Column("completed_at", UTCDateTime))
    md.create_all(engine)
    yield engine, orders
    engine.dispose()


def fill(engine, orders, n, *, at=OLD, status="closed", payment_status="paid"):
    with engine.begin() as conn:
        start = conn.execute(select(func.coalesce(func.max(orders.c.id), 0))).scalar_one()
        conn.execute(insert(orders), [dict(id=start + i + 1, email=f"u{i}@example.com", name="Jane", payment_ref="pm_1",
                                           status=status, payment_status=payment_status, customer_id=f"c{i}",
                                           completed_at=at) for i in range(n)])


def rows(engine, orders):
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(orders).order_by(orders.c.id))]


def sql_rule(db_url, **kw):
    base = dict(name="orders", entity="sql", database_url=db_url, table="shop_orders", anchor="completed_at",
                keep_for="365d", batch_size=7, batch_ms=0)  # fixed batches of 7 unless a test says otherwise
    return Rule.model_validate({**base, **kw})


def retention_of(sp, **options):
    """The retention capability wired from the facade's collaborators, as ``sp.retention`` is."""
    return Retention(sp.settings.retention, store=sp.store, audit=sp.audit, jobs=sp.jobs, adapter=lambda: sp.adapter,
                     fields=lambda: sp.fields, clock=sp.clock, **options)


@pytest.fixture
def ret(sp):
    r = retention_of(sp, defaults=False)
    yield r
    r.close()


def test_delete_in_batches_with_audit_and_receipt(sp, ret, shop_db, db_url):
    engine, orders = shop_db
    fill(engine, orders, 20)
    fill(engine, orders, 3, at=NOW - timedelta(days=10))
    ret.add(sql_rule(db_url))
    assert [(p.due, p.exempt) for p in ret.plan(now=NOW)] == [(20, 0)]
    assert len(rows(engine, orders)) == 23  # plan wrote nothing
    (receipt,) = ret.sweep(now=NOW)
    assert receipt.processed == 20 and receipt.batches == 3 and receipt.cutoff == NOW - timedelta(days=365)
    assert len(rows(engine, orders)) == 3
    batches = sp.audit.entries(action="retention.delete")
    assert [e.meta["rows"] for e in batches] == [7, 7, 6]
    assert ret.receipts()[0]["processed"] == 20
    assert ret.sweep(now=NOW)[0].processed == 0
    sp.audit.verify()


def test_split_windows_redact_then_anonymise(ret, shop_db, db_url):
    engine, orders = shop_db
    fill(engine, orders, 4, at=NOW - timedelta(days=100))
    fill(engine, orders, 2, at=NOW - timedelta(days=3000))
    ret.add(sql_rule(db_url, name="payment_refs", keep_for="90d", action="redact", fields=["payment_ref"]),
            sql_rule(db_url, name="orders", keep_for="7y", action="anonymise", fields=["email", "name"],
                     replace={"name": "anonymised"}))
    assert {p.rule: p.due for p in ret.plan(now=NOW)} == {"payment_refs": 6, "orders": 2}
    got = {r.rule: r.processed for r in ret.sweep(now=NOW)}
    assert got == {"payment_refs": 6, "orders": 2}
    data = rows(engine, orders)
    assert all(r["payment_ref"] is None for r in data)
    assert [(r["email"], r["name"]) for r in data[4:]] == [(None, "anonymised")] * 2
    assert all(r["email"] is not None for r in data[:4])
    assert {p.rule: p.due for p in ret.plan(now=NOW)} == {"payment_refs": 0, "orders": 0}


def test_exemptions(ret, shop_db, db_url):
    engine, orders = shop_db
    fill(engine, orders, 3)
    fill(engine, orders, 2, payment_status="unpaid")
    fill(engine, orders, 2, status="active")
    ret.add(sql_rule(db_url, exempt=[{"kind": "unpaid_invoice", "column": "payment_status"},
                                     {"kind": "active_subscription", "column": "status"}, {"kind": "legal_hold"}]))
    ret.hold("shop_orders", "1", reason="court order 12/2026")
    assert [(p.due, p.exempt) for p in ret.plan(now=NOW)] == [(2, 5)]
    (receipt,) = ret.sweep(now=NOW)
    assert receipt.processed == 2 and receipt.exempt == 5
    assert sorted(r["id"] for r in rows(engine, orders)) == [1, 4, 5, 6, 7]
    assert ret.release("shop_orders", "1") and not ret.release("shop_orders", "1")
    assert ret.sweep(now=NOW)[0].processed == 1
    with pytest.raises(InvalidInput):
        ret.hold("shop_orders", "2", reason="")


def test_default_rules_on_sdk_tables(sp):
    with sp.store.begin() as conn:
        for i, (status, done_at) in enumerate([("done", OLD), ("done", NOW), ("dead", OLD), ("pending", None),
                                               ("superseded", OLD), ("superseded", NOW)]):
            conn.execute(insert(outbox).values(topic="t", idempotency_key=f"k{i}", payload={}, status=status,
                                               attempts=1, next_attempt_at=OLD, created_at=OLD, updated_at=OLD,
                                               done_at=done_at))
        conn.execute(insert(jobs).values(name="old", status="done", processed=1, started_at=OLD, updated_at=OLD,
                                         finished_at=OLD))
    sp.inbox.accept  # noqa: B018
    ret = retention_of(sp)
    ret.hold("sp_outbox", "3", reason="dispute")
    plan = {p.rule: p.due for p in ret.plan(now=NOW)}
    assert plan["sdk.outbox.done"] == 1 and plan["sdk.outbox.dead"] == 0 and plan["sdk.jobs.done"] == 1
    assert plan["sdk.outbox.superseded"] == 1
    got = {r.rule: r.processed for r in ret.sweep(now=NOW)}
    assert got["sdk.outbox.done"] == 1 and got["sdk.jobs.done"] == 1 and got["sdk.outbox.superseded"] == 1
    with sp.store.begin(write=False) as conn:
        assert sorted(conn.execute(select(outbox.c.idempotency_key)).scalars()) == ["k1", "k2", "k3", "k5"]
    sp.audit.verify()


def test_audit_truncation_rule(sp):
    clock_at = [OLD]
    app = ShopPrivacy(sp.settings, store=sp.store, keyring=sp.keyring, clock=lambda: clock_at[0])
    app.audit.record(actor="t", action="old")
    clock_at[0] = NOW
    app.audit.record(actor="t", action="new")
    ret = retention_of(app, defaults=False)
    ret.add(Rule(name="audit", entity="audit", action="truncate", anchor="at", keep_for=timedelta(days=30)))
    assert ret.plan(now=NOW)[0].due == 1
    assert ret.sweep(now=NOW)[0].processed == 1
    app.audit.verify()


def test_shred_needs_fields_capability(sp, ret, shop_db, db_url):
    from shopprivacy.retention.sweeper import shredder

    engine, orders = shop_db
    fill(engine, orders, 3)
    rule = sql_rule(db_url, action="shred", subject_column="customer_id")
    with pytest.raises(UnsupportedOperation, match="sp.fields"):
        shredder(None, sp.store, rule)
    sp.__dict__["fields"] = None  # an installation without encrypted fields
    ret.add(rule)
    with pytest.raises(UnsupportedOperation, match="sp.fields"):
        ret.sweep(now=NOW)
    assert len(rows(engine, orders)) == 3 and all(r["customer_id"] for r in rows(engine, orders))


def test_shred_destroys_each_subjects_key(sp, ret, shop_db, db_url):
    from shopprivacy.errors import ShreddedError

    engine, orders = shop_db
    fill(engine, orders, 3)
    tokens = {f"c{i}": sp.fields.encrypt(f"note {i}", context="orders.note", row=i, subject=f"c{i}")
              for i in range(3)}
    keep = sp.fields.encrypt("other", context="orders.note", row=9, subject="c9")
    ret.add(sql_rule(db_url, action="shred", subject_column="customer_id"))
    assert ret.sweep(now=NOW)[0].processed == 3
    for i, token in enumerate(tokens.values()):
        with pytest.raises(ShreddedError):
            sp.fields.decrypt(token, context="orders.note", row=i)
    assert sp.fields.decrypt(keep, context="orders.note", row=9) == "other"
    assert all(r["customer_id"] is None for r in rows(engine, orders))
    assert len(sp.audit.entries(action="fields.subject_shredded")) == 3
    assert ret.sweep(now=NOW)[0].processed == 0


def test_sweep_resumes_after_a_crash(sp, ret, shop_db, db_url, monkeypatch):
    engine, orders = shop_db
    fill(engine, orders, 30)
    ret.add(sql_rule(db_url, action="anonymise", fields=["email", "name"]))
    from shopprivacy.retention import sweeper

    real, calls = sweeper.Target.apply, []

    def crashing(self, conn, keys, cutoff, shred):
        calls.append(keys)
        if len(calls) == 12:
            raise KeyboardInterrupt  # as if killed between two row transactions
        return real(self, conn, keys, cutoff, shred)

    monkeypatch.setattr(sweeper.Target, "apply", crashing)
    with pytest.raises(KeyboardInterrupt):
        ret.sweep(now=NOW)
    done = [r for r in rows(engine, orders) if r["email"] is None]
    assert len(done) == 11 and all(r["name"] is None for r in done)  # no partially anonymised row
    status = sp.jobs.status("retention:orders")
    assert status["status"] == "running" and status["checkpoint"]["after"] == 7
    monkeypatch.setattr(sweeper.Target, "apply", real)
    (receipt,) = ret.sweep(now=NOW + timedelta(days=1))
    assert receipt.cutoff == NOW - timedelta(days=365)  # the interrupted sweep finished with its own cutoff
    assert all(r["email"] is None for r in rows(engine, orders))
    # rows finished by the interrupted batch before its checkpoint are done but not counted again
    assert receipt.processed == 26


def test_bad_rule_targets(ret, shop_db, db_url):
    ret.add(sql_rule(db_url, table="no_such_table"))
    with pytest.raises(RuleError, match="no_such_table"):
        ret.plan(now=NOW)
    ret.remove("orders")
    ret.add(sql_rule(db_url, anchor="nope"))
    with pytest.raises(RuleError, match="nope"):
        ret.sweep(now=NOW)
    with pytest.raises(RuleError, match="no such rule"):
        ret.plan(["missing"])


def test_run_due_sweeps(sp):
    report = sp.run_due()
    assert "retention" in report.tasks and "sdk.outbox.done" in report.tasks["retention"]


def test_run_due_goes_on_when_a_rule_cannot_run(sp, shop_db, db_url):
    sp.__dict__["fields"] = None
    sp.retention.add(sql_rule(db_url, name="shred_me", action="shred", subject_column="customer_id"))
    sp.retention.add(sql_rule(db_url, name="gone", table="missing_table"))
    tasks = sp.run_due().tasks["retention"]
    assert tasks["errors"] == 2 and "sdk.inbox" in tasks and "gone" not in tasks


def test_rules_file_from_settings(sp, tmp_path, db_url):
    path = tmp_path / "rules.toml"
    path.write_text('[rules.x]\nentity = "sdk"\ntable = "sp_inbox"\nkey = "delivery_id"\nanchor = "received_at"\n'
                    'keep_for = "2d"\n')
    settings = sp.settings.model_copy(update={"retention": sp.settings.retention.model_copy(
        update={"rules_file": path, "defaults": False})})
    app = ShopPrivacy(settings, store=sp.store)
    assert [r.name for r in app.retention.rules] == ["x"]


def test_platform_objects_through_the_adapter(settings, store):
    from shopprivacy.platforms.local import LocalShop
    from shopprivacy.retention.platform import PlatformRetention

    from ..renewals.conftest import T0, add_subs

    shop = LocalShop.from_url(settings.database_url)
    app = ShopPrivacy(settings, store=store, adapter=shop)
    assert isinstance(shop, PlatformRetention)
    add_subs(shop, 3)
    orders = [shop.create_billing_attempt(sid, idempotency_key=f"k{sid}", origin_time=T0 - timedelta(days=200)).order_id
              for sid in [r["subscription_id"] for r in shop.iter_due_subscriptions(
                  due_before=T0 + timedelta(days=1), fields={"subscription_id"})]]
    ret = retention_of(app, defaults=False)
    ret.add(Rule(name="order_meta", entity="platform", table="orders", anchor="created_at", keep_for="90d",
                 action="redact", fields=("ip_address", "user_agent", "attribution"),
                 exempt=[{"kind": "legal_hold"}]))
    ret.hold("orders", orders[0], reason="chargeback")
    assert [(p.due, p.exempt) for p in ret.plan(now=T0)] == [(2, 1)]
    assert ret.sweep(now=T0)[0].processed == 2
    assert shop.order(orders[0])["ip_address"] is not None
    assert all(shop.order(o)["ip_address"] is None for o in orders[1:])
    ret.add(Rule(name="bad", entity="platform", table="carts", anchor="created_at", keep_for="90d"))
    with pytest.raises(RuleError, match="carts"):
        ret.plan(["bad"])
    ret.add(Rule(name="bad", entity="platform", table="orders", anchor="created_at", keep_for="90d",
                 action="shred", subject_column="customer_ref"))
    with pytest.raises(RuleError, match="shred"):
        ret.plan(["bad"])
    shop.close()


def test_platform_rule_needs_a_capable_adapter(settings, store):
    class Bare:
        name = "bare"

        def close(self):
            pass

    app = ShopPrivacy(settings, store=store, adapter=Bare())
    ret = retention_of(app, defaults=False)
    ret.add(Rule(name="p", entity="platform", table="orders", anchor="created_at", keep_for="90d"))
    with pytest.raises(UnsupportedOperation, match="bare"):
        ret.plan()


def test_batches_grow_while_they_are_quick(sp, ret, shop_db, db_url, monkeypatch):
    from shopprivacy.retention import service

    class QuickClock:  # every batch takes about a millisecond, however busy the machine is
        now = 0.0

        @classmethod
        def perf_counter(cls):
            cls.now += 0.0004
            return cls.now

    monkeypatch.setattr(service, "time", QuickClock)
    engine, orders = shop_db
    fill(engine, orders, 300)
    ret.add(sql_rule(db_url, batch_size=1, batch_ms=50))
    (receipt,) = ret.sweep(now=NOW)
    sizes = [e.meta["rows"] for e in sp.audit.entries(action="retention.delete")]
    assert receipt.processed == 300 and sum(sizes) == 300
    assert sizes[:3] == [1, 2, 4] and receipt.batches < 20  # fixed batches of 1 would take 300


def test_batches_shrink_to_the_aimed_transaction_time(sp, ret, shop_db, db_url, monkeypatch):
    """A table where each row costs 2 ms: batches of 100 (200 ms) come down to about 50 ms (25 rows)."""
    engine, orders = shop_db
    fill(engine, orders, 400)
    ret.add(sql_rule(db_url, batch_size=100, batch_ms=50))
    from shopprivacy.retention import sweeper

    real = sweeper.Target.apply

    def slow(self, conn, keys, cutoff, shred):
        time.sleep(0.002 * len(keys))
        return real(self, conn, keys, cutoff, shred)

    monkeypatch.setattr(sweeper.Target, "apply", slow)
    (receipt,) = ret.sweep(now=NOW)
    sizes = [e.meta["rows"] for e in sp.audit.entries(action="retention.delete")]
    assert receipt.processed == 400 and sizes[0] == 100
    assert sizes[1] == 50 and all(s <= 35 for s in sizes[3:-1]), sizes


@given(start=st.integers(-5, 20_000), target=st.integers(0, 1000),
       steps=st.lists(st.tuples(st.integers(0, 20_000), st.floats(0, 1e5)), max_size=20))
def test_batch_sizes_stay_within_bounds_and_fixed_without_a_target(start, target, steps):
    from shopprivacy.retention.sweeper import BatchSizer

    sizer = BatchSizer(start, target)
    first = sizer.size
    for rows_, ms in steps:
        size = sizer.record(rows_, ms)
        assert 1 <= size <= 10_000
        if target == 0:
            assert size == first
        elif rows_:
            assert rows_ / 2 - 1 <= size <= rows_ * 2 + 1
