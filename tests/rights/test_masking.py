"""Masked values on pages and in notices: recognisable by their owner, never the value itself."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import InvalidInput
from shopprivacy.rights.masking import mask
from shopprivacy.rights.model import parse_changes


@pytest.mark.parametrize(("kind", "value", "shown"), [
    ("email", "jane@example.com", "j***@e******.com"),
    ("email", "jane.doe+shop@mail.example.co.uk", "j***@m**************.uk"),
    ("email", "a@b.museum", "a***@b.museum"),
    ("email", "x@host.photography", "x***@h***.p**********"),
    ("email", "root@localhost", "r***@l********"),
    ("phone", "+33612345678", "+*********78"),
    ("first_name", "Jane", "J***"),
    ("address", "3 place Bellecour, Lyon", "3***"),
    ("first_name", "   ", "***"),
])
def test_masks(kind, value, shown):
    assert mask(kind, value) == shown


def test_the_local_part_length_is_not_shown():
    assert mask("email", "al@example.com") == mask("email", "alexandra@example.com") == "a***@e******.com"


@given(st.emails())
def test_a_masked_address_hides_the_local_part_and_the_domain_name(address):
    try:
        value = parse_changes({"email": address})["email"]
    except InvalidInput:
        return
    local, _, domain = value.partition("@")
    name = domain.rpartition(".")[0]
    shown = mask("email", value)
    assert shown != value and shown.count("@") == 1
    shown_local, _, shown_domain = shown.partition("@")
    assert shown_local == local[:1] + "***"
    # a part that is its first character and stars ("0*") reads the same masked: nothing is revealed there
    assert len(local) < 2 or set(local[1:]) == {"*"} or local not in shown
    assert len(name) < 2 or set(name[1:]) <= {"*", "."} or name not in shown_domain


@given(st.text(alphabet="0123456789", min_size=6, max_size=15))
def test_a_masked_phone_shows_only_its_last_two_digits(digits):
    phone = parse_changes({"phone": "+" + digits})["phone"]
    shown = mask("phone", phone)
    assert len(shown) == len(phone) and shown.startswith("+") and shown.endswith(digits[-2:])
    assert set(shown[1:-2]) <= {"*"}


KINDS = ["email", "phone", "first_name", "last_name", "name", "address", "other"]


@given(st.sampled_from(KINDS), st.text(max_size=400))
def test_masking_any_text_never_fails(kind, value):
    shown = mask(kind, value)
    assert isinstance(shown, str) and shown and len(shown) <= max(len(value), 4) + 4
    text = value.strip()
    if kind not in ("email", "phone") and text:
        assert shown == text[:1] + "***"


def test_a_notice_says_its_text_direction():
    from shopprivacy.rights.model import Notice

    assert Notice(kind="done", channel="email", to="a@example.com", locale="fa", request=None).direction == "rtl"
    assert Notice(kind="done", channel="email", to="a@example.com", locale="tr", request=None).direction == "ltr"
