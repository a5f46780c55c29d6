import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import KeysetError, ShopPrivacyError, UnknownKeyError
from shopprivacy.keys import PURPOSES, Keyring, Keyset


def test_generate_roundtrip_and_repr_hides_secret():
    ks = Keyset.generate()
    again = Keyset.from_json(ks.to_json())
    assert again == ks
    secret_b64 = json.loads(ks.to_json())["keys"][0]["secret"]
    assert secret_b64 not in repr(ks)
    assert secret_b64 not in repr(Keyring(ks))
    assert len(ks.keys[0].secret) == 32


def test_subkeys_differ_per_purpose_and_key_and_are_cached():
    ring = Keyring(Keyset.generate().rotate())
    derived = {(p, k): ring.subkey(p, k) for p in PURPOSES for k in ring.ids}
    assert len(set(derived.values())) == len(derived)
    assert all(len(v) == 32 for v in derived.values())
    assert ring.subkey("tokens") is ring.subkey("tokens")


def test_subkey_is_deterministic_for_a_keyset():
    ks = Keyset.generate()
    assert Keyring(ks).subkey("audit") == Keyring(Keyset.from_json(ks.to_json())).subkey("audit")


def test_known_answer_hkdf():
    # Fixed key -> fixed subkey: the derivation must never change by accident.
    secret = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
    ks = Keyset.from_json(json.dumps({"version": 1, "primary": "k1", "keys": [{"id": "k1", "secret": secret}]}))
    assert Keyring(ks).subkey("fields").hex() == KNOWN_FIELDS_SUBKEY


# Computed independently with RFC 5869 over hmac: PRK = HMAC(salt, ikm); OKM = HMAC(PRK, info || 0x01).
KNOWN_FIELDS_SUBKEY = "6d003772d9d208cf9d17035160a2d3cbf8d67c54a1a503159d56737c16244c09"


def test_unknown_purpose_and_key_are_refused():
    ring = Keyring(Keyset.generate())
    with pytest.raises(KeysetError):
        ring.subkey("nonsense")
    with pytest.raises(UnknownKeyError):
        ring.subkey("fields", "zzz")


def test_rotation_stage_promote_retire():
    ks = Keyset.generate()
    first = ks.primary
    staged = ks.rotate(promote=False)
    assert staged.primary == first and len(staged.keys) == 2
    promoted = staged.promote(staged.ids[-1])
    assert promoted.primary == staged.ids[-1]
    ring = Keyring(promoted)
    # itsdangerous signs with the last key: the primary must come last
    assert ring.subkeys("tokens")[-1] == ring.subkey("tokens", promoted.primary)
    with pytest.raises(KeysetError):
        promoted.retire(promoted.primary)
    retired = promoted.retire(first)
    assert retired.ids == (promoted.primary,)
    with pytest.raises(UnknownKeyError):
        retired.retire(first)


def test_rotate_keeps_old_keys_and_new_primary_last():
    ks = Keyset.generate().rotate().rotate()
    assert ks.primary == ks.ids[-1]
    assert len(set(ks.ids)) == 3


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"version": 2}', "version"),
        ('{"version": 1, "keys": []}', "non-empty"),
        ('{"version": 1, "primary": "a", "keys": [{"id": "a", "secret": "c2hvcnQ"}]}', "at least 32"),
        ('{"version": 1, "primary": "a", "keys": [{"id": "a", "secret": "' + "A" * 43 + '"}]}', "not random"),
        ('{"version": 1, "primary": "B!", "keys": [{"id": "B!", "secret": "x"}]}', "key id"),
        ('{"version": 1, "primary": "a", "keys": [{"id": "a", "secret": "***"}]}', "base64"),
    ],
)
def test_malformed_keysets_get_clear_errors(doc, fragment):
    with pytest.raises(KeysetError, match=fragment):
        Keyset.from_json(doc)


def test_primary_must_exist_and_ids_unique():
    ks = json.loads(Keyset.generate().to_json())
    ks["primary"] = "nothere"
    with pytest.raises(KeysetError, match="primary"):
        Keyset.from_json(json.dumps(ks))
    ks = json.loads(Keyset.generate().to_json())
    ks["keys"].append(dict(ks["keys"][0]))
    with pytest.raises(KeysetError, match="twice"):
        Keyset.from_json(json.dumps(ks))


def test_write_is_private(tmp_path):
    path = tmp_path / "keys.json"
    ks = Keyset.generate()
    ks.write(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Keyset.from_file(path) == ks
    with pytest.raises(KeysetError, match="does not exist"):
        Keyset.from_file(tmp_path / "missing.json")


def test_pseudonym_and_keyed_hash():
    ring = Keyring(Keyset.generate())
    p = ring.pseudonym("jane@example.com")
    assert p.startswith("p_") and "jane" not in p
    assert p == ring.pseudonym("jane@example.com")
    assert p != ring.pseudonym("jane@example.com", namespace="other")
    h = ring.keyed_hash("203.0.113.9", namespace="ip")
    kid, _, digest = h.partition(".")
    assert kid == ring.primary_id and len(digest) == 64
    rotated = Keyring(ring.keyset.rotate())
    assert rotated.keyed_hash("203.0.113.9", namespace="ip", key_id=kid) == h


@given(st.text(max_size=300))
def test_keyset_parser_never_raises_anything_else(text):
    try:
        Keyset.from_json(text)
    except ShopPrivacyError:
        pass


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=50),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                    max_leaves=20))
def test_keyset_mapping_parser_never_raises_anything_else(doc):
    try:
        Keyset.from_mapping(doc)
    except ShopPrivacyError:
        pass
