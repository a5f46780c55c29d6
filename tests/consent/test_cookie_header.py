"""The consent read of a request from its raw Cookie header: only the consent cookie is looked at, with the
same outcome as parsing every cookie first (werkzeug), and the signer derives its key once."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import TimestampSigner
from werkzeug.http import parse_cookie

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.consent.service import Choice
from shopprivacy.signing import CachedKeySigner, CachedKeyTimestampSigner


@pytest.fixture(scope="module")
def app() -> ShopPrivacy:
    sp = ShopPrivacy(Settings(database_url="sqlite://", keyset=Keyset.generate().to_json()))
    sp.store.upgrade()
    return sp


def _value(sp: ShopPrivacy) -> str:
    _, header = sp.consent.record(Choice(granted=frozenset({"analytics"}), method="custom"))
    return header.split("=", 1)[1].split(";", 1)[0]


def test_the_consent_cookie_is_found_among_others(app: ShopPrivacy) -> None:
    value = _value(app)
    state = app.consent.state_from_header(f"cart=1; sp_consent={value}; theme=dark")
    assert state.decided and state.allows("analytics")
    assert app.consent.cookie_from_header(f"x_sp_consent=forged; sp_consent={value}") == value
    assert app.consent.cookie_from_header("sp_consent_old=1; cart=2") is None
    assert not app.consent.state_from_header("").decided


def test_gpc_from_the_hook_value_applies(app: ShopPrivacy) -> None:
    value = _value(app)
    assert app.consent.state_from_header(f"sp_consent={value}", "1").gpc
    assert not app.consent.state_from_header(f"sp_consent={value}", "").gpc


def test_a_quoted_header_is_parsed_fully(app: ShopPrivacy) -> None:
    value = _value(app)
    header = f'note="a;sp_consent=forged"; sp_consent={value}'
    assert app.consent.cookie_from_header(header) is False
    parsed = app.consent.state_from_header(header, parse=lambda: parse_cookie(header))
    assert parsed.allows("analytics")


def test_a_forged_cookie_is_no_consent(app: ShopPrivacy) -> None:
    value = _value(app)
    assert not app.consent.state_from_header(f"sp_consent={value[:-2]}xx").decided


cookie_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'),
                      max_size=40)


@given(before=st.lists(st.tuples(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), cookie_text), max_size=4),
       after=st.lists(st.tuples(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), cookie_text), max_size=4),
       present=st.booleans())
def test_the_same_answer_as_parsing_every_cookie(app: ShopPrivacy, before: list[tuple[str, str]],
                                                 after: list[tuple[str, str]], present: bool) -> None:
    value = _VALUE.setdefault("v", _value(app))
    parts = [f"{k}={v}" for k, v in before] + ([f"sp_consent={value}"] if present else [])
    parts += [f"{k}={v}" for k, v in after]
    header = "; ".join(parts)
    full = app.consent.state(parse_cookie(header))
    fast = app.consent.state_from_header(header, parse=lambda: parse_cookie(header))
    assert (fast.decided, fast.granted) == (full.decided, full.granted)


_VALUE: dict[str, str] = {}


@pytest.mark.parametrize(("cls", "plain"), [(CachedKeySigner, None), (CachedKeyTimestampSigner, TimestampSigner)])
def test_cached_key_signers_agree_with_itsdangerous(cls: type, plain: type | None) -> None:
    kwargs = {"salt": "s", "key_derivation": "hmac", "digest_method": hashlib.sha256}
    ours = cls([b"old", b"new"], **kwargs)
    assert ours.unsign(ours.sign(b"x")) == b"x"
    if plain is not None:
        theirs = plain([b"old", b"new"], **kwargs)
        assert theirs.unsign(ours.sign(b"y")) == b"y"
        assert ours.unsign(plain([b"old"], **kwargs).sign(b"z")) == b"z"  # a retired key still verifies
        other_salt = plain([b"new"], **{**kwargs, "salt": "t"})
        with pytest.raises(Exception):
            ours.unsign(other_salt.sign(b"w"))
