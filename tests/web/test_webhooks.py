import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import SignatureError
from shopprivacy.web.webhooks import sign_base64, verify_base64

SECRET = b"app-secret-0123456789"
BODY = b'{"shop_id":954889,"shop_domain":"s.myshopify.com","customer":{"id":191167}}'


def test_valid_signature_matches_platform_computation():
    expected = base64.b64encode(hmac.new(SECRET, BODY, hashlib.sha256).digest()).decode()
    assert sign_base64(SECRET, BODY) == expected
    verify_base64(SECRET, BODY, expected)


def test_reserialised_body_fails():
    sig = sign_base64(SECRET, BODY)
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert reserialised != BODY
    with pytest.raises(SignatureError, match="does not match"):
        verify_base64(SECRET, reserialised, sig)


@pytest.mark.parametrize("sig", [None, "", "!!!", sign_base64(b"other", BODY)])
def test_missing_or_wrong_signature(sig):
    with pytest.raises(SignatureError):
        verify_base64(SECRET, BODY, sig)


def test_non_canonical_encoding_of_the_right_mac_is_refused():
    canonical = sign_base64(SECRET, BODY)
    # 32 bytes in base64: the last character before "=" carries 2 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(canonical[-2])
    variant = canonical[:-2] + alphabet[last | 1] + "="
    assert variant != canonical and base64.b64decode(variant) == base64.b64decode(canonical)
    with pytest.raises(SignatureError, match="canonical"):
        verify_base64(SECRET, BODY, variant)


def test_no_secret_configured():
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify_base64(b"", BODY, sign_base64(b"x", BODY))


@given(st.binary(max_size=200), st.text(max_size=80))
def test_random_signatures_only_raise_signature_error(body, sig):
    try:
        verify_base64(SECRET, body, sig)
    except SignatureError:
        return
    assert sig.strip() == sign_base64(SECRET, body)
