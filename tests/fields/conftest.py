import base64
import json

import pytest

from shopprivacy.keys import Keyring, Keyset

FIXED_SECRET = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")


@pytest.fixture
def fixed_keyring():
    """The keyset of the committed test vectors: key id "k1", secret bytes 0..31."""
    doc = {"version": 1, "primary": "k1", "keys": [{"id": "k1", "secret": FIXED_SECRET}]}
    return Keyring(Keyset.from_json(json.dumps(doc)))
