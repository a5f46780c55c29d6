import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Text, cast, literal, null, select, type_coerce, update

from shopprivacy.errors import InvalidInput, NotFoundError, PlatformError
from shopprivacy.platforms import RENEWAL_FIELDS, RenewalOrderCleaner, SubscriptionSource
from shopprivacy.platforms.local import LocalShop
from shopprivacy.platforms.local_subscriptions import next_period

from ..renewals.conftest import T0, add_subs


@pytest.fixture
def shop(db_url):
    s = LocalShop.from_url(db_url)
    s.page_size = 4
    yield s
    s.close()


def test_protocols(shop):
    assert isinstance(shop, SubscriptionSource) and isinstance(shop, RenewalOrderCleaner)


def test_minimal_fetch_selects_only_requested_fields_and_pages(shop):
    ids = add_subs(shop, 10)
    add_subs(shop, 2, start=T0 + timedelta(days=40))  # not due
    got = list(shop.iter_due_subscriptions(due_before=T0 + timedelta(days=1),
                                           fields={"subscription_id", "amount"}))
    assert [g["subscription_id"] for g in got] == ids  # ordered by due time, across 3 pages
    assert all(set(g) == {"subscription_id", "amount"} for g in got)
    minimal = shop.bytes_received
    list(shop.iter_due_full_objects(due_before=T0 + timedelta(days=1)))
    assert minimal < (shop.bytes_received - minimal) * 0.3
    full = list(shop.iter_due_subscriptions(due_before=T0 + timedelta(days=1), fields=RENEWAL_FIELDS))
    assert "ip_address" not in full[0] and full[0]["next_billing_at"].startswith("2026-11-01T09:00")
    with pytest.raises(InvalidInput):
        list(shop.iter_due_subscriptions(due_before=T0, fields={"ip_address"}))


def test_billing_is_idempotent_and_orders_can_be_cleaned(shop):
    (sid,) = add_subs(shop, 1)
    first = shop.create_billing_attempt(sid, idempotency_key="k1", origin_time=T0)
    again = shop.create_billing_attempt(sid, idempotency_key="k1", origin_time=T0)
    assert first.order_id == again.order_id and shop.billing_count() == 1
    assert shop.order(first.order_id)["ip_address"] == "203.0.113.9"
    assert shop.clean_renewal_order(first.order_id) == ("ip_address", "user_agent", "attribution")
    assert shop.clean_renewal_order(first.order_id) == ()
    with pytest.raises(PlatformError):
        shop.create_billing_attempt("s_missing", idempotency_key="k2", origin_time=T0)
    with pytest.raises(PlatformError):
        shop.clean_renewal_order("o_missing")
    with pytest.raises(NotFoundError):
        shop.order("o_missing")
    with pytest.raises(InvalidInput):
        shop.add_subscription(customer_ref="c", amount="1", lines=[], interval={"unit": "day", "count": 1},
                              next_billing_at=datetime(2026, 1, 1))


def test_next_period():
    at = datetime(2026, 1, 31, 9, tzinfo=timezone.utc)
    assert next_period(at, {"unit": "month", "count": 1}) == datetime(2026, 2, 28, 9, tzinfo=timezone.utc)
    assert next_period(at, {"unit": "year", "count": 1}) == datetime(2027, 1, 31, 9, tzinfo=timezone.utc)
    assert next_period(at, {"unit": "week", "count": 2}) == at + timedelta(days=14)
    assert next_period(at, {"unit": "month", "count": 11}).month == 12


@pytest.mark.db
def test_paging_walks_ties_of_the_due_time_in_id_order(shop):
    """Several subscriptions due at the same instant, split across pages: each one once, in (time, id) order."""
    ids = [shop.add_subscription(customer_ref=f"c_{i}", amount="5", lines=[], interval={"unit": "month", "count": 1},
                                 next_billing_at=T0 + timedelta(minutes=i // 6)) for i in range(18)]
    got = [g["subscription_id"] for g in shop.iter_due_subscriptions(due_before=T0 + timedelta(hours=1),
                                                                     fields={"subscription_id"})]
    assert got == sorted(ids, key=lambda sid: (ids.index(sid) // 6, sid))


def test_a_page_after_a_cursor_seeks_the_index_instead_of_walking_it_from_the_start(tmp_path):
    """The cursor bounds the index range from below: each page costs the same at 10k or 1M rows."""
    shop = LocalShop.from_url(f"sqlite:///{tmp_path / 'shop.db'}")
    q = shop._page_query(T0 + timedelta(days=1), [shop.subscriptions.c.subscription_id], (T0, "s_1"))
    with shop.engine.connect() as conn:
        compiled = q.compile(conn)
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(compiled), tuple(compiled.params[k] for k in compiled.positiontup or ())))
    shop.close()
    assert "ix_localshop_subscriptions_due" in plan and "next_billing_at>" in plan, plan


def _stored_objects(shop, columns):
    """The due subscriptions' ``columns`` as SQLAlchemy decodes them (the reference for the fetch)."""
    t = shop.subscriptions
    with shop.engine.connect() as conn:
        rows = conn.execute(select(*(t.c[name] for name in columns)).where(t.c.status == "active")
                            .order_by(t.c.next_billing_at, t.c.subscription_id)).all()
    return [dict(row._mapping) for row in rows]


def test_fetched_objects_and_their_byte_count_match_the_stored_objects(shop):
    """JSON columns read as text and decoded here give what SQLAlchemy's JSON type gives, escapes, non-ASCII
    text, JSON null and SQL NULL included, and the bytes counted are the JSON size of each object."""
    add_subs(shop, 5)
    shop.add_subscription(customer_ref='c_"q"\\', amount="1", lines=[{"variant_id": "v\u00eb\n", "quantity": 3,
                          "unit_price": "0.5", "requires_shipping": False, "props": {"x": [1.5, None, "\u2028"]}}],
                          interval={"unit": "week", "count": 2}, next_billing_at=T0 - timedelta(seconds=1),
                          shipping_address=None,
                          email="zo\u00eb@example.com",
                          extra={"customer_name": "Zo\u00eb \"Z\"", "billing_address": null(), "attribution": None,
                                 "cancelled_at": T0})
    due = T0 + timedelta(days=1)
    full = list(shop.iter_due_full_objects(due_before=due))
    expected = _stored_objects(shop, [c.name for c in shop.subscriptions.c])
    assert full == expected and len(full) == 6
    assert full[0]["billing_address"] is None and full[0]["shipping_address"] is None
    assert shop.bytes_received == sum(len(json.dumps(obj, default=str)) for obj in expected)
    for fields in (RENEWAL_FIELDS, {"lines", "amount"}, {"interval"}, {"email"}, {"subscription_id", "lines"}):
        before = shop.bytes_received
        got = list(shop.iter_due_subscriptions(due_before=due, fields=fields))
        expected = _stored_objects(shop, sorted(fields))
        for obj in expected:
            if "next_billing_at" in obj:
                obj["next_billing_at"] = obj["next_billing_at"].isoformat()
        assert got == expected
        assert shop.bytes_received - before == sum(len(json.dumps(obj, default=str)) for obj in expected)


def test_json_text_written_by_hand_decodes_as_the_json_type_decodes_it(shop):
    """Spaces around a document are read as SQLAlchemy reads them; malformed text (only SQLite stores it:
    PostgreSQL's json type checks what it is given) fails the same way."""
    (sid,) = add_subs(shop, 1)
    t, due = shop.subscriptions, T0 + timedelta(days=1)
    sqlite = shop.engine.dialect.name == "sqlite"

    def stored(text):
        return type_coerce(text, Text) if sqlite else cast(literal(text, Text), JSON)

    with shop.engine.begin() as conn:
        conn.execute(update(t).where(t.c.subscription_id == sid).values(
            interval=stored(' {"unit": "day", "count": 2}\n'), lines=stored("[1] ")))
    got = list(shop.iter_due_subscriptions(due_before=due, fields={"interval", "lines"}))
    assert got == _stored_objects(shop, ["interval", "lines"]) == [{"interval": {"unit": "day", "count": 2},
                                                                     "lines": [1]}]
    for bad in ("[1", "[1] [2]", "") if sqlite else ():
        with shop.engine.begin() as conn:
            conn.execute(update(t).where(t.c.subscription_id == sid).values(lines=stored(bad)))
        with pytest.raises(json.JSONDecodeError):
            _stored_objects(shop, ["lines"])
        with pytest.raises(json.JSONDecodeError):
            list(shop.iter_due_subscriptions(due_before=due, fields={"lines"}))
