"""Twilio's request signature (``X-Twilio-Signature``): base64 of an HMAC, keyed with the account's auth token,
over the full URL Twilio requested followed by every POST parameter's name and value, sorted by name.

The algorithm is HMAC-SHA1 unless the request carries ``X-Twilio-Webhooks-Signature-Settings`` naming
``algorithm=HMAC_SHA256`` (webhooks signed with a shared key; its secret is then the configured token). As in
Twilio's own ``RequestValidator``, repeated names contribute each distinct value in sorted order, the URL is
tried without its port and with its (default) port, since Twilio signs the URL as configured and proxies add
or drop ``:443``, and signatures are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from ..errors import SignatureError

HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
_HASHES = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


def algorithm_of(settings_header: str | None) -> str:
    """The algorithm named by ``X-Twilio-Webhooks-Signature-Settings`` (``HMAC_SHA1`` when absent)."""
    for part in (settings_header or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def compute(auth_token: str, url: str, params: Iterable[tuple[str, str]], *, algorithm: str = "HMAC_SHA1") -> str:
    """The signature Twilio sends for a POST of form ``params`` (pairs, repeated names allowed) to ``url``."""
    digest = _HASHES.get(algorithm.upper())
    if digest is None:
        raise SignatureError("unsupported Twilio signature algorithm")
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def url_variants(url: str) -> tuple[str, str]:
    """(``url`` without its port, ``url`` with its port or the scheme's default one)."""
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    prefix = f"{userinfo}@" if userinfo else ""
    host, port = hostport, ""
    if hostport.startswith("["):  # an IPv6 literal
        end = hostport.find("]")
        host, port = hostport[:end + 1], hostport[end + 2:] if hostport[end + 1:end + 2] == ":" else ""
    elif ":" in hostport:
        host, _, port = hostport.partition(":")
    default = "443" if parts.scheme == "https" else "80"
    without = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port or default}"))
    return without, with_port


def verify(auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None, *,
           algorithm: str = "HMAC_SHA1") -> None:
    """Raise :class:`~shopprivacy.errors.SignatureError` unless ``signature`` signs ``params`` posted to ``url``."""
    if not auth_token:
        raise SignatureError("no Twilio auth token is configured")
    if not signature:
        raise SignatureError("the X-Twilio-Signature header is missing")
    given = signature.encode("utf-8", "replace")
    pairs = list(params)
    ok = False
    for candidate in url_variants(url):
        # both variants are computed and compared, so the time taken does not say which one matched
        ok |= hmac.compare_digest(compute(auth_token, candidate, pairs, algorithm=algorithm).encode("ascii"), given)
    if not ok:
        raise SignatureError("the Twilio signature does not match the request")
