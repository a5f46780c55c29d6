import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import InvalidInput, ShopPrivacyError
from shopprivacy.fields.blind_index import blind_index, normalise


def test_normalisation():
    assert normalise("  Jane@Example.COM ", "email") == "jane@example.com"
    assert normalise("+33 6 12-34-56-78", "phone") == "+33612345678"
    assert normalise("0033 6 12 34 56 78", "phone") == "+33612345678"
    assert normalise("  ﬁne  ", "text") == "fine"
    with pytest.raises(InvalidInput):
        normalise("06 12 34 56 78", "phone")  # no country code
    with pytest.raises(InvalidInput):
        normalise("no-at-sign", "email")
    with pytest.raises(InvalidInput):
        normalise("x", "other")  # type: ignore[arg-type]


def test_kinds_are_separated_and_bits_respected(keyring):
    assert blind_index(keyring, "a@b.c", kind="email") != blind_index(keyring, "a@b.c", kind="text")
    assert len(blind_index(keyring, "a@b.c", kind="email", bits=16)) == 4  # hex
    with pytest.raises(InvalidInput):
        blind_index(keyring, "a@b.c", kind="email", bits=12)


def test_stable_across_rotation(keyring):
    from shopprivacy.keys import Keyring

    rotated = Keyring(keyring.keyset.rotate())
    assert blind_index(rotated, "a@b.c", kind="email") == blind_index(keyring, "a@b.c", kind="email")


@given(st.text(max_size=80), st.sampled_from(["email", "phone", "text"]))
def test_never_raises_anything_else(keyring, value, kind):
    try:
        out = blind_index(keyring, value, kind=kind)
    except ShopPrivacyError:
        return
    assert len(out) == 32 and int(out, 16) >= 0
