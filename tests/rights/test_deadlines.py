from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import InvalidInput
from shopprivacy.rights import add_business_days, add_months, due_dates

UTC = timezone.utc
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC))


@pytest.mark.parametrize(("received", "due"), [
    (datetime(2026, 1, 31, 9, tzinfo=UTC), datetime(2026, 2, 28, 9, tzinfo=UTC)),
    (datetime(2028, 1, 31, 9, tzinfo=UTC), datetime(2028, 2, 29, 9, tzinfo=UTC)),
    (datetime(2026, 3, 31, 9, tzinfo=UTC), datetime(2026, 4, 30, 9, tzinfo=UTC)),
    (datetime(2026, 12, 15, 9, tzinfo=UTC), datetime(2027, 1, 15, 9, tzinfo=UTC)),
])
def test_gdpr_one_calendar_month_clamped_to_the_month_end(received, due):
    d = due_dates("gdpr", received)
    assert d.due_at == due and d.acknowledge_by is None


def test_gdpr_extension_is_three_months_from_receipt_not_compounded():
    d = due_dates("gdpr", datetime(2026, 1, 31, tzinfo=UTC))
    assert d.extended_due_at == datetime(2026, 4, 30, tzinfo=UTC)  # not 28 April via 28 February


def test_ccpa_ten_business_days_skip_weekends_and_holidays():
    friday = datetime(2026, 11, 20, 17, tzinfo=UTC)
    d = due_dates("ccpa", friday)
    assert d.acknowledge_by == datetime(2026, 12, 4, 17, tzinfo=UTC)
    assert due_dates("ccpa", friday, [date(2026, 11, 26), date(2026, 11, 27)]).acknowledge_by == \
        datetime(2026, 12, 8, 17, tzinfo=UTC)
    assert d.due_at == friday + timedelta(days=45) and d.extended_due_at == friday + timedelta(days=90)


def test_unknown_regime_and_negative_days_are_refused():
    with pytest.raises(InvalidInput):
        due_dates("lgpd", datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidInput):
        add_business_days(datetime(2026, 1, 1, tzinfo=UTC), -1)


@given(moments, st.integers(min_value=0, max_value=36))
def test_add_months_lands_in_the_right_month_on_the_clamped_day(at, months):
    out = add_months(at, months)
    assert (out.year * 12 + out.month) - (at.year * 12 + at.month) == months
    assert out.day == at.day or (out.day < at.day and (out + timedelta(days=1)).month != out.month)
    assert out.time() == at.time() and out >= at


@given(moments, st.integers(min_value=1, max_value=30),
       st.sets(st.dates(min_value=date(2000, 1, 1), max_value=date(2091, 12, 31)), max_size=20))
def test_business_days_counts_exactly_the_working_days(at, n, holidays):
    out = add_business_days(at, n, holidays)
    assert out.weekday() < 5 and out.date() not in holidays
    days = [(at + timedelta(days=i)).date() for i in range(1, (out - at).days + 1)]
    assert sum(1 for d in days if d.weekday() < 5 and d not in holidays) == n
