from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import RuleError
from shopprivacy.retention import Rule, default_rules, load_rules, parse_duration, parse_rules, rule_from_mapping

TOML = """
[rules.orders_payment_refs]
entity = "sql"
database_url = "sqlite:///shop.db"
table = "orders"
anchor = "completed_at"
keep_for = "90d"
action = "redact"
fields = ["payment_ref"]

[rules.orders]
entity = "sql"
database_url = "sqlite:///shop.db"
table = "orders"
anchor = "completed_at"
keep_for = "7 years"
action = "anonymise"
fields = ["email", "name"]
replace = { name = "anonymised" }
exempt = [{ kind = "unpaid_invoice", column = "payment_status" }, { kind = "legal_hold" }]
"""


def test_toml_rules_with_split_windows():
    payment, order = parse_rules(TOML)
    assert payment.keep_for == timedelta(days=90) and payment.action == "redact"
    assert order.keep_for == timedelta(days=7 * 365)
    assert order.exempt[0].values == ("unpaid", "open", "past_due", "pending")
    assert order.exempt[1].kind == "legal_hold"
    assert "shop.db" not in repr(order)


def test_load_rules_from_file(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(TOML)
    assert [r.name for r in load_rules(path)] == ["orders_payment_refs", "orders"]
    with pytest.raises(RuleError, match="cannot read"):
        load_rules(tmp_path / "missing.toml")


@pytest.mark.parametrize(("data", "message"), [
    ({"table": "t", "keep_for": "forever"}, "keep_for"),
    ({"table": "t", "keep_for": "30d", "action": "explode"}, "action"),
    ({"keep_for": "30d"}, "needs a table"),
    ({"table": "t", "keep_for": "30d", "action": "redact"}, "needs the fields"),
    ({"table": "t", "keep_for": "30d", "action": "shred"}, "subject_column"),
    ({"entity": "sql", "table": "t", "keep_for": "30d"}, "database_url"),
    ({"table": "t; drop table x", "keep_for": "30d"}, "table"),
    ({"table": "t", "keep_for": "30d", "fields": ["a b"], "action": "redact"}, "not a column"),
    ({"table": "t", "keep_for": "30m", "color": "red"}, "color"),
    ({"table": "t", "keep_for": "0h"}, "at least one hour"),
    ({"entity": "audit", "keep_for": "30d", "action": "delete"}, "truncated"),
    ({"table": "t", "keep_for": "30d", "exempt": [{"kind": "active_subscription"}]}, "column"),
    ({"table": "t", "keep_for": "30d", "action": "redact", "fields": ["a"], "replace": {"b": "x"}}, "replace"),
])
def test_malformed_rule_names_the_rule(data, message):
    with pytest.raises(RuleError, match=message) as info:
        rule_from_mapping("broken_rule", data)
    assert info.value.rule == "broken_rule" and "broken_rule" in str(info.value)


def test_bad_toml_and_bad_layout():
    with pytest.raises(RuleError, match="TOML"):
        parse_rules("[rules.x\n")
    with pytest.raises(RuleError, match="unknown top-level"):
        parse_rules("[policy]\nx = 1\n")
    with pytest.raises(RuleError, match="x"):
        parse_rules("[rules]\nx = 1\n")


def test_durations():
    assert parse_duration("48h") == timedelta(hours=48)
    assert parse_duration("2 weeks") == timedelta(days=14)
    assert parse_duration("6 months") == timedelta(days=180)
    assert parse_duration("1y") == timedelta(days=365)
    for bad in ("", "d", "1.5d", "-3d", "3 fortnights", "9999999d"):
        with pytest.raises(ValueError):
            parse_duration(bad)


@given(st.integers(0, 999_999), st.sampled_from(["h", "d", "days", "w", "weeks", "m", "months", "y", "years"]),
       st.sampled_from(["", " "]))
def test_duration_roundtrip(n, unit, sep):
    days = {"d": 1, "w": 7, "m": 30, "y": 365}
    expected = timedelta(hours=n) if unit == "h" else timedelta(days=n * days[unit[0]])
    assert parse_duration(f"{n}{sep}{unit}") == expected


@given(st.text(max_size=30))
def test_duration_parser_never_crashes(text):
    try:
        assert parse_duration(text) >= timedelta(0)
    except ValueError:
        pass


@given(st.dictionaries(st.sampled_from(["table", "keep_for", "action", "fields", "entity", "anchor", "key",
                                        "exempt", "where", "batch_size"]),
                       st.none() | st.integers(-5, 10**6) | st.text(max_size=12) | st.lists(st.text(max_size=5)),
                       max_size=6))
def test_rule_loader_raises_only_rule_errors(data):
    try:
        rule = rule_from_mapping("r", data)
    except RuleError as exc:
        assert exc.rule == "r"
    else:
        assert isinstance(rule, Rule)


def test_defaults_are_valid_and_unique():
    rules = default_rules()
    names = [r.name for r in rules]
    assert len(names) == len(set(names)) and "sdk.audit" in names and "sdk.outbox.dead" in names


def test_rules_come_from_each_provider_in_order():
    from shopprivacy.consent.retention import retention_rules as consent_rules
    from shopprivacy.retention.defaults import RULE_PROVIDERS, retention_rules

    assert consent_rules in RULE_PROVIDERS and retention_rules in RULE_PROVIDERS
    rules = default_rules((consent_rules, retention_rules))
    assert [r.name for r in rules] == [r.name for r in consent_rules()] + [r.name for r in retention_rules()]
