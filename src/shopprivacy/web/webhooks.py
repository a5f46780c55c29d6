"""Webhook signatures: base64 HMAC-SHA256 over the raw body, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..errors import SignatureError


def sign_base64(secret: bytes, body: bytes) -> str:
    """The signature a platform sends for ``body`` (Shopify, WooCommerce): base64 of HMAC-SHA256."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode("ascii")


def verify_base64(secret: bytes, body: bytes, signature: str | None) -> None:
    """Raise :class:`SignatureError` unless ``signature`` is the base64 HMAC-SHA256 of the raw ``body``.

    Verify the bytes exactly as received: a body parsed and serialised again will not match. Only the
    canonical encoding is accepted (the platforms' own libraries compare the base64 text), so a signature
    whose unused padding bits differ is refused too.
    """
    if not secret:
        raise SignatureError("no webhook secret is configured")
    if not signature:
        raise SignatureError("the webhook signature header is missing")
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    try:
        text = signature.strip().encode("ascii")
        given = base64.b64decode(text, validate=True)
    except (ValueError, UnicodeEncodeError):
        raise SignatureError("the webhook signature is not valid base64") from None
    if base64.b64encode(given) != text:
        raise SignatureError("the webhook signature is not canonical base64")
    if not hmac.compare_digest(expected, given):
        raise SignatureError("the webhook signature does not match the body")
