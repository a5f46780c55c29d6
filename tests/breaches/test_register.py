"""The register and its 72-hour clock (GDPR Art. 33(1)), moved by hand: no sleeping."""

import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.breaches import AUTHORITY_DEADLINE, parse_incident, parse_update
from shopprivacy.errors import ConflictError, InvalidInput, NotFoundError
from shopprivacy.testing import row_counts

from .conftest import incident


def test_the_72_hours_run_from_awareness(bsp, clock):
    b = bsp.breaches.open(incident(clock))
    assert b.authority_due_at == b.aware_at + AUTHORITY_DEADLINE == clock.now + timedelta(hours=71)
    assert not b.overdue(clock.now) and bsp.breaches.find(overdue=True) == []
    clock.advance(hours=50)
    assert bsp.run_due().tasks["breaches"] == {"overdue": 0, "due_within_24h": 1}
    clock.advance(hours=21, seconds=1)
    assert [x.id for x in bsp.breaches.find(overdue=True)] == [b.id]
    assert bsp.run_due().tasks["breaches"] == {"overdue": 1, "due_within_24h": 0}
    with pytest.raises(InvalidInput, match="reasons for the delay"):
        bsp.breaches.report(b.id, reference="LDA-1")
    reported = bsp.breaches.report(b.id, reference="LDA-1", delay_reason="Forensics took four days.")
    assert reported.authority == "reported" and reported.delay_reason and bsp.breaches.find(overdue=True) == []
    with pytest.raises(ConflictError):
        bsp.breaches.report(b.id)
    assert [e["action"] for e in bsp.breaches.events(b.id)] == ["opened", "reported"]
    assert bsp.breaches.events(b.id)[1]["changed"] == {"late": True, "hours": 72}


def test_a_report_in_time_needs_no_reason_and_may_be_dated_back(bsp, clock):
    b = bsp.breaches.open(incident(clock))
    clock.advance(hours=100)
    r = bsp.breaches.report(b.id, at=clock.now - timedelta(hours=40))  # made in time, recorded late
    assert r.delay_reason is None and r.reported_at == clock.now - timedelta(hours=40)
    with pytest.raises(InvalidInput, match="future"):
        bsp.breaches.report(bsp.breaches.open(incident(clock)).id, at=clock.now + timedelta(hours=1))


def test_no_report_stops_the_clock_with_a_reason_and_close_needs_a_decision(bsp, clock):
    b = bsp.breaches.open(incident(clock))
    with pytest.raises(ConflictError, match="before closing"):
        bsp.breaches.close(b.id)
    with pytest.raises(InvalidInput):
        bsp.breaches.no_report(b.id, "   ")
    bsp.breaches.no_report(b.id, "Only encrypted data, keys safe: unlikely to result in a risk.")
    clock.advance(days=10)
    assert bsp.breaches.find(overdue=True) == []
    closed = bsp.breaches.close(b.id)
    assert closed.state == "closed" and bsp.breaches.find() == [] and len(bsp.breaches.find(state=None)) == 1
    assert bsp.audit.verify().entries >= 3
    actions = [e.action for e in bsp.audit.entries() if e.meta.get("breach") == b.id]
    assert actions == ["breach.opened", "breach.report_not_required", "breach.closed"]


def test_later_phases_replace_fields_and_are_recorded(bsp, clock):
    b = bsp.breaches.open(incident(clock))
    clock.advance(hours=5)
    u = bsp.breaches.update(b.id, {"approx_records": 1200, "high_risk": True})
    assert u.incident.approx_records == 1200 and u.incident.high_risk is True and u.aware_at == b.aware_at
    assert bsp.breaches.events(b.id)[-1]["changed"] == {"fields": ["approx_records", "high_risk"]}
    with pytest.raises(InvalidInput, match="discovered_at"):
        bsp.breaches.update(b.id, {"discovered_at": clock.now.isoformat()})  # the clock cannot be moved
    with pytest.raises(InvalidInput):
        bsp.breaches.update(b.id, {})
    with pytest.raises(NotFoundError):
        bsp.breaches.update("br_missing", {"high_risk": False})


@pytest.mark.parametrize(("change", "message"), [
    ({"discovered_at": "2026-11-24T10:00:00"}, "discovered_at"),  # no offset
    ({"kinds": []}, "kinds"),
    ({"kinds": ["leak"]}, "kinds"),
    ({"nature": ""}, "nature"),
    ({"nature": "a\x00b"}, "control"),
    ({"approx_subjects": -1}, "approx_subjects"),
    ({"unknown": 1}, "unknown"),
    ({"scope": {"stores": ["shop_custmers"]}}, "did you mean 'shop_customers'"),
    ({"scope": {"stores": ["shop_customers"], "fields": ["shop_customers.phnoe"]}}, "did you mean 'phone'"),
    ({"scope": {"stores": ["email"], "fields": ["shop_customers.phone"]}}, "not in scope"),
    ({"scope": {"window_start": "2026-11-24T10:00:00Z"}}, "window_end"),
    ({"translations": {"de": {"nature": "x"}}}, "translations"),
])
def test_bad_incidents_are_refused_and_nothing_is_written(bsp, clock, change, message):
    before = row_counts(bsp.store)
    with pytest.raises(InvalidInput, match=message):
        bsp.breaches.open(incident(clock, **change))
    assert row_counts(bsp.store) == before


def test_awareness_in_the_future_is_refused(bsp, clock):
    with pytest.raises(InvalidInput, match="future"):
        bsp.breaches.open(incident(clock, discovered_at=(clock.now + timedelta(hours=2)).isoformat()))


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_the_incident_parser_takes_any_text(text):
    try:
        parse_incident(text)
    except InvalidInput:
        pass


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=15), inner, max_size=4), max_leaves=20)
fields = st.sampled_from(["controller", "discovered_at", "nature", "kinds", "data_categories", "subject_categories",
                          "approx_subjects", "consequences", "measures", "contact", "scope", "translations",
                          "high_risk", "locale"])


@given(st.dictionaries(fields, json_values, max_size=14))
def test_the_parsers_give_invalid_input_or_a_valid_model(doc):
    for parse in (parse_incident, parse_update):
        try:
            parsed = parse(json.dumps(doc))
        except InvalidInput as exc:
            assert len(str(exc)) <= 300
        else:
            assert parsed.model_dump()
