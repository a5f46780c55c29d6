import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import InvalidInput, InvalidPhoneNumber
from shopprivacy.sms import phones


@pytest.mark.parametrize(("raw", "region", "e164"), [
    ("+33 6 12 34 56 78", None, "+33612345678"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("0033 6 12 34 56 78", "FR", "+33612345678"),
    ("(650) 253-0000", "US", "+16502530000"),
    ("+1 650-253-0000", "FR", "+16502530000"),
    ("+44 7400 123456", None, "+447400123456"),
])
def test_numbers_are_read_as_e164(raw, region, e164):
    assert phones.to_e164(raw, region) == e164


@pytest.mark.parametrize(("raw", "region"), [
    ("06 12 34 56 78", None),      # no country code and no default region
    ("+33 1", None),               # too short
    ("+1 555 0100", "US"),         # not a valid number
    ("not a number", "FR"),
    ("", "FR"),
    ("+" + "1" * 70, None),        # longer than any number
])
def test_invalid_numbers_are_invalid_input(raw, region):
    with pytest.raises(InvalidPhoneNumber) as info:
        phones.to_e164(raw, region)
    assert isinstance(info.value, InvalidInput)


@given(st.text(max_size=80), st.sampled_from([None, "FR", "US", "DE"]))
def test_any_text_is_a_number_or_invalid_input(raw, region):
    try:
        e164 = phones.to_e164(raw, region)
    except InvalidPhoneNumber:
        return
    assert e164.startswith("+") and e164[1:].isdigit() and len(e164) <= 16
    assert phones.to_e164(e164) == e164  # E.164 is a fixed point


def test_time_zones_follow_the_number():
    assert phones.time_zones("+33612345678") == ("Europe/Paris",)
    assert phones.time_zones("+16502530000") == ("America/Los_Angeles",)
    assert phones.region("+447400123456") == "GB"
