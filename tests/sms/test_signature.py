"""Twilio's X-Twilio-Signature, checked against Twilio's own helper (``twilio.request_validator``) as the peer."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from shopprivacy.errors import SignatureError
from shopprivacy.sms import signature

from .conftest import TOKEN

# Twilio's documented example (https://www.twilio.com/docs/usage/security#validating-requests)
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675310", "Digits": "1234", "From": "+14158675310",
              "To": "+18005551212"}

names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
urls = st.builds(lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
                 st.sampled_from(["https", "http"]), st.sampled_from(["shop.example", "a.b.example"]),
                 st.sampled_from(["", ":443", ":80", ":8443"]), st.text(alphabet="abc/-_.", max_size=20))


def test_the_documented_example():
    peer = RequestValidator("12345")
    ours = signature.compute("12345", DOC_URL, DOC_PARAMS.items())
    assert ours == peer.compute_signature(DOC_URL, DOC_PARAMS) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    signature.verify("12345", DOC_URL, DOC_PARAMS.items(), ours)


@given(urls, st.dictionaries(names, values, max_size=8))
def test_same_signature_as_twilio(url, params):
    peer = RequestValidator(TOKEN)
    ours = signature.compute(TOKEN, url, params.items())
    assert ours == peer.compute_signature(url, params)
    # what the peer signs, we accept; what it refuses, we refuse
    signature.verify(TOKEN, url, params.items(), ours)
    assert peer.validate(url, params, ours)


@given(urls, st.dictionaries(names, values, max_size=6), st.text(max_size=40))
def test_accepts_exactly_what_twilio_accepts(url, params, forged):
    peer = RequestValidator(TOKEN)
    try:
        signature.verify(TOKEN, url, params.items(), forged)
        ours = True
    except SignatureError:
        ours = False
    assert ours == peer.validate(url, params, forged)


@pytest.mark.parametrize(("signed", "received"), [
    ("https://shop.example/sms", "https://shop.example:443/sms"),
    ("https://shop.example:443/sms", "https://shop.example/sms"),
    ("http://shop.example/sms", "http://shop.example:80/sms"),
])
def test_default_port_added_or_dropped(signed, received):
    sig = RequestValidator(TOKEN).compute_signature(signed, {"Body": "STOP"})
    assert RequestValidator(TOKEN).validate(received, {"Body": "STOP"}, sig)
    signature.verify(TOKEN, received, [("Body", "STOP")], sig)


def test_repeated_names_like_the_peer():
    from werkzeug.datastructures import MultiDict

    pairs = [("MediaUrl", "b"), ("MediaUrl", "a"), ("MediaUrl", "b"), ("Body", "x")]
    assert signature.compute(TOKEN, "https://s.example/", pairs) == RequestValidator(TOKEN).compute_signature(
        "https://s.example/", MultiDict(pairs))


def test_sha256_with_a_shared_key():
    params = {"Body": "STOP", "From": "+33612345678"}
    header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    algorithm = signature.algorithm_of(header)
    assert algorithm == "HMAC_SHA256"
    sig = RequestValidator(TOKEN).compute_signature(DOC_URL, params, algorithm)
    signature.verify(TOKEN, DOC_URL, params.items(), sig, algorithm=algorithm)
    with pytest.raises(SignatureError):
        signature.verify(TOKEN, DOC_URL, params.items(), sig)  # not a SHA-1 signature
    with pytest.raises(SignatureError):
        signature.verify(TOKEN, DOC_URL, params.items(), sig, algorithm="HMAC_MD5")


@pytest.mark.parametrize("bad", [None, "", "x", "GvWf1cFY/Q7PnoempGyD5oXAezc", "GvWf1cFY/Q7PnoempGyD5oXAezd="])
def test_refused(bad):
    with pytest.raises(SignatureError):
        signature.verify("12345", DOC_URL, DOC_PARAMS.items(), bad)


def test_other_token_or_tampered_parameter_is_refused():
    sig = signature.compute(TOKEN, DOC_URL, DOC_PARAMS.items())
    with pytest.raises(SignatureError):
        signature.verify(TOKEN[::-1], DOC_URL, DOC_PARAMS.items(), sig)
    with pytest.raises(SignatureError):
        signature.verify(TOKEN, DOC_URL, {**DOC_PARAMS, "From": "+14158675309"}.items(), sig)
    with pytest.raises(SignatureError):
        signature.verify("", DOC_URL, DOC_PARAMS.items(), sig)
