from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopprivacy.errors import PurposeViolation
from shopprivacy.renewals import ALLOWED_FIELDS, RenewalRecord, assert_within_allow_list, build_view, idempotency_key
from shopprivacy.renewals.view import ADDRESS_FIELDS, LINE_FIELDS

RAW = {
    "subscription_id": "s_1", "status": "active", "customer_ref": "c_9", "payment_ref": "pm_abc",
    "amount": "19.90", "currency": "EUR",
    "lines": [{"variant_id": "v1", "quantity": 2, "unit_price": "9.95", "requires_shipping": True,
               "product_title": "Coffee", "properties": {"gift": "yes"}}],
    "interval": {"unit": "month", "count": 1}, "next_billing_at": "2026-11-24T10:00:00+01:00",
    "shipping_address": {"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon", "country": "FR",
                         "phone": "+33 6", "company": "ACME"},
    "email": "jane@example.com",
    "ip_address": "203.0.113.9", "user_agent": "Mozilla", "attribution": {"utm": "x"}, "note": "secret",
}


def test_view_keeps_the_allow_list_and_counts_dropped_names():
    result = build_view(RAW)
    rec = result.record
    assert rec is not None and result.skip_reason is None
    assert rec.amount == Decimal("19.90") and rec.lines[0].quantity == 2
    assert rec.period == "2026-11-24T09:00:00Z"
    assert rec.shipping_address.city == "Lyon"
    assert sorted(result.dropped) == sorted(["ip_address", "user_agent", "attribution", "note",
                                             "lines.product_title", "lines.properties",
                                             "shipping_address.phone", "shipping_address.company"])
    dumped = rec.model_dump_json()
    for value in ("203.0.113.9", "Mozilla", "secret", "+33 6", "ACME", "Coffee"):
        assert value not in dumped
    assert "jane@example.com" not in repr(rec)


def test_shipping_address_dropped_when_nothing_ships():
    raw = {**RAW, "lines": [{**RAW["lines"][0], "requires_shipping": False}]}
    result = build_view(raw)
    assert result.record.shipping_address is None and "shipping_address" in result.dropped


@pytest.mark.parametrize("missing", ["subscription_id", "customer_ref", "payment_ref", "amount", "currency",
                                     "lines", "interval", "next_billing_at"])
def test_missing_required_field_is_a_named_skip(missing):
    raw = {k: v for k, v in RAW.items() if k != missing}
    result = build_view(raw)
    assert result.record is None and result.skip_reason == f"missing_{missing}"


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("currency", "euro", "invalid_currency"), ("amount", "-1", "invalid_amount"),
    ("next_billing_at", "2026-11-24T10:00:00", "invalid_next_billing_at"),
    ("interval", {"unit": "fortnight", "count": 1}, "invalid_interval"),
])
def test_malformed_field_is_a_named_skip(key, value, reason):
    result = build_view({**RAW, key: value})
    assert result.record is None and result.skip_reason == reason


def test_shipping_line_without_address_is_skipped():
    result = build_view({k: v for k, v in RAW.items() if k != "shipping_address"})
    assert result.skip_reason == "missing_shipping_address"


def test_purpose_guard_raises_outside_the_allow_list():
    rec = build_view(RAW).record
    with pytest.raises(PurposeViolation) as info:
        _ = rec.ip_address
    assert info.value.field == "ip_address"
    with pytest.raises(PurposeViolation):
        rec["user_agent"]
    with pytest.raises(PurposeViolation):
        rec.get("note")
    assert rec["currency"] == "EUR" and rec.get("email") == "jane@example.com"


def test_assert_within_allow_list_helper():
    assert assert_within_allow_list(lambda r: r.amount * 2, RAW) == Decimal("39.80")
    with pytest.raises(AssertionError, match="ip_address"):
        assert_within_allow_list(lambda r: r.ip_address, RAW)
    with pytest.raises(AssertionError, match="not renewable"):
        assert_within_allow_list(lambda r: r.amount, {"subscription_id": "s"})


def test_idempotency_key_depends_on_subscription_and_period():
    rec = build_view(RAW).record
    assert rec.idempotency_key == idempotency_key("s_1", "2026-11-24T09:00:00Z")
    assert idempotency_key("s_1", "2026-12-24T09:00:00Z") != rec.idempotency_key
    assert idempotency_key("s_2", "2026-11-24T09:00:00Z") != rec.idempotency_key


def test_email_can_be_left_out_or_encrypted():
    assert build_view(RAW, keep_email=False).record.email is None
    rec = build_view(RAW, encrypt_email=lambda value, row: f"enc:{row}:{len(value)}").record
    assert rec.email == "enc:s_1:16"


extra_keys = st.text(min_size=1, max_size=30).filter(lambda k: k not in ALLOWED_FIELDS)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                           max_leaves=8)


@given(st.dictionaries(extra_keys, json_values, max_size=8))
def test_unknown_fields_are_never_copied(extra):
    result = build_view({**RAW, **extra})
    assert result.record is not None
    assert set(result.record.model_dump()) <= ALLOWED_FIELDS
    for key in extra:
        assert key[:60] in result.dropped


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(sorted(ALLOWED_FIELDS)), json_values, max_size=11))
def test_arbitrary_input_never_raises(raw):
    result = build_view(raw)
    assert (result.record is None) == (result.skip_reason is not None)
    if result.record is not None:
        assert isinstance(result.record, RenewalRecord)


@given(json_values)
def test_non_mapping_input_is_skipped(raw):
    if not isinstance(raw, dict):
        assert build_view(raw).skip_reason == "not_a_mapping"


def test_drop_counter_is_bounded():
    from shopprivacy.renewals.view import DropCounter

    counter = DropCounter()
    for i in range(1500):
        counter.add(build_view({**RAW, f"x{i}": 1}))
    assert len(counter.dropped) == counter.max_names + 1 and counter.dropped["(other)"] > 0


def test_the_allow_list_is_the_renewal_vocabulary_and_the_record_declares_exactly_it():
    from shopprivacy.platforms import DueSubscription, PostalAddress, SubscriptionLine
    from shopprivacy.renewals.view import ADDRESS_FIELDS, LINE_FIELDS, RenewalLine, ShippingAddress

    assert ALLOWED_FIELDS == frozenset(DueSubscription.__annotations__) == frozenset(RenewalRecord.model_fields)
    assert LINE_FIELDS == frozenset(SubscriptionLine.__annotations__) == frozenset(RenewalLine.model_fields)
    assert ADDRESS_FIELDS == frozenset(PostalAddress.__annotations__) == frozenset(ShippingAddress.model_fields)


@pytest.mark.parametrize("address", [
    {"name": "Jane Doe", "address1": "1 Main St", "city": "Lyon", "zip": "69001", "country_code": "FR"},
    {"name": "Jane Doe", "text": "1 Main St\n69001 Lyon"},
    {"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon"},
    {"name": "Jane Doe", "line1": "  ", "country": "FR"},
])
def test_an_address_in_other_keys_is_skipped_not_billed_with_nowhere_to_ship(address):
    result = build_view({**RAW, "shipping_address": address})
    assert result.record is None and result.skip_reason == "incomplete_shipping_address"
    assert all(f"shipping_address.{key}" in result.dropped for key in address
               if key not in ("name", "line1", "city", "country"))


#: RAW as a minimal fetch sends it: nothing to drop
MINIMAL = {**{k: v for k, v in RAW.items() if k in ALLOWED_FIELDS},
           "lines": [{k: v for k, v in RAW["lines"][0].items() if k in LINE_FIELDS}],
           "shipping_address": {"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon", "country": "FR"}}
_line_keys = st.sampled_from([*sorted(LINE_FIELDS), "title", "properties"])
_address_keys = st.sampled_from([*sorted(ADDRESS_FIELDS), "phone", "company"])
_lines = st.lists(st.dictionaries(_line_keys, json_values, max_size=5) | json_values, max_size=3)
_values = {
    **{key: json_values for key in sorted(ALLOWED_FIELDS)},
    "lines": _lines | st.tuples(st.fixed_dictionaries({"variant_id": st.just("v1"), "quantity": st.just(1),
                                                       "unit_price": st.just("1"),
                                                       "requires_shipping": st.booleans()})) | json_values,
    "shipping_address": st.dictionaries(_address_keys, json_values | st.just("FR"), max_size=5) | json_values,
    "ip_address": json_values}
_one_override = st.sampled_from(sorted(_values)).flatmap(lambda key: _values[key].map(lambda value: {key: value}))
_overrides = st.just({}) | _one_override | st.fixed_dictionaries({}, optional=_values)


@settings(max_examples=300)
@given(_overrides, st.sets(st.sampled_from(sorted(ALLOWED_FIELDS)), max_size=2), st.booleans())
def test_the_shortcut_for_raw_input_with_nothing_to_drop_gives_the_walks_result(overrides, removed, keep_email):
    """A plain dict with only allow-listed keys is copied instead of walked: same view, same dropped names."""
    from unittest import mock

    from shopprivacy.renewals import view

    raw = {key: value for key, value in {**MINIMAL, **overrides}.items() if key not in removed}
    if view._nothing_to_drop(raw, keep_email):
        assert view._walk(raw, keep_email) == (raw, [])
    with mock.patch.object(view, "_nothing_to_drop", return_value=False):
        walked = build_view(raw, keep_email=keep_email)
    assert build_view(raw, keep_email=keep_email) == walked


def test_the_shortcut_is_taken_for_a_minimal_fetch_only():
    from shopprivacy.renewals.view import _nothing_to_drop

    minimal = MINIMAL
    assert build_view(minimal).record == build_view(RAW).record
    assert _nothing_to_drop(minimal, True) and not _nothing_to_drop(minimal, False)
    assert not _nothing_to_drop(RAW, True)
    assert not _nothing_to_drop({**minimal, "lines": tuple(minimal["lines"])}, True)
    assert not _nothing_to_drop({**minimal, "shipping_address": {"line1": "x", "zip": "1"}}, True)
