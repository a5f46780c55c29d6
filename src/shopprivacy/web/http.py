"""Plain request and response values shared by every web handler and every framework integration.

Handlers take a :class:`Request` and return a :class:`Response`; the Flask and Django integrations only
translate their objects to and from these, and call handlers through :meth:`Route.respond
<shopprivacy.web.routes.Route.respond>`. Every parser here is bounded and total: it returns a value or raises
:class:`~shopprivacy.errors.MalformedRequest` (which ``respond`` answers with its 4xx), never anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ..errors import MalformedRequest
from ..urls import MAX_URL_CHARS as MAX_URL_CHARS
from ..urls import http_url as http_url
from ..urls import serialised_origin

#: Largest body a route accepts unless it sets its own ``max_body`` (413 beyond).
MAX_BODY_BYTES = 64 * 1024
#: Most fields one url-encoded form may carry (400 beyond).
MAX_FORM_FIELDS = 100
#: Deepest nesting of arrays and objects a JSON body may have (unusable beyond).
MAX_JSON_DEPTH = 32
#: Most header fields, and the longest one (name and value), a request may carry (431 beyond).
MAX_HEADERS = 100
MAX_HEADER_CHARS = 16 * 1024

_BAD_HEADER_TEXT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")  # RFC 9110: no CTL but HTAB
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


_origin = serialised_origin


def origin_of(url: object) -> str | None:
    """The origin of an http(s) URL (``https://shop.example``), or ``None`` when it is not one."""
    parts = http_url(url)
    return None if parts is None else _origin(parts)


def same_origin_url(url: str | None, public_base_url: str) -> str | None:
    """``url`` when it is an http(s) URL on the shop's own origin, rebuilt from its parts (no fragment);
    else ``None``. A redirect to it cannot leave the shop."""
    parts = http_url(url)
    expected = origin_of(public_base_url)
    if parts is None or expected is None or _origin(parts) != expected:
        return None
    return expected + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def same_origin(req: Request, public_base_url: str) -> bool:
    """Whether a POST came from the shop's own pages: ``Origin``, else ``Sec-Fetch-Site``, else ``Referer``.

    The SDK's pages send ``Referrer-Policy: strict-origin``: a token in their URL never leaves in a
    ``Referer``, and their forms still carry a real ``Origin``. ``Origin: null`` (a form on a page with
    ``no-referrer``, a sandboxed frame) defers to ``Sec-Fetch-Site``, which a page cannot forge.
    """
    expected = origin_of(public_base_url)
    origin = req.header("origin")
    if origin and origin != "null":
        return expected is not None and origin.lower() == expected
    site = req.header("sec-fetch-site")
    if site:
        return site in ("same-origin", "none")
    if origin:  # "null" without Sec-Fetch-Site: nothing vouches for it
        return False
    return same_origin_url(req.header("referer"), public_base_url) is not None


def _usable_json(data: Any) -> bool:
    """Whether parsed JSON nests at most ``MAX_JSON_DEPTH`` deep and holds only text UTF-8 can encode (no lone
    surrogate: I-JSON, RFC 7493), without recursing."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return False
        elif isinstance(value, (list, dict)):
            if depth >= MAX_JSON_DEPTH:
                return False
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class Request:
    """An HTTP request. Header names are matched case-insensitively; ``body`` is the raw bytes.

    ``query`` holds one value per name; ``query_string`` is the query as received (undecoded, without ``?``),
    for a check that needs every value, such as a platform's signature over its parameters."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    remote_addr: str | None = None
    query_string: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "headers", _lower_keys(self.headers))

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def check(self, *, max_body: int = MAX_BODY_BYTES) -> None:
        """Raise :class:`MalformedRequest` unless the request is within bounds: a body of at most ``max_body``
        bytes (413), at most ``MAX_HEADERS`` header fields of at most ``MAX_HEADER_CHARS`` each (431), and
        header text HTTP allows (400: no control character but tab, no lone surrogate). Real servers never
        hand over such headers; only a broken or hostile client, or a test client, does."""
        if len(self.body) > max_body:
            raise MalformedRequest(f"the body is larger than {max_body} bytes", status=413)
        if len(self.headers) > MAX_HEADERS:
            raise MalformedRequest("too many header fields", status=431)
        for name, value in self.headers.items():
            if len(name) + len(value) > MAX_HEADER_CHARS:
                raise MalformedRequest("a header field is too large", status=431)
            if _BAD_HEADER_TEXT.search(name) or _BAD_HEADER_TEXT.search(value):
                raise MalformedRequest("a header field holds characters HTTP does not allow")

    def form(self, *, max_bytes: int = MAX_BODY_BYTES) -> dict[str, str]:
        """The url-encoded form body (first value per name); empty for other content types.

        :class:`MalformedRequest` for a form body that is larger than ``max_bytes`` (413), has more than
        ``MAX_FORM_FIELDS`` fields, is not UTF-8 (also once percent-decoded) or holds a NUL character (400).
        """
        if self.content_type != "application/x-www-form-urlencoded":
            return {}
        if len(self.body) > max_bytes:
            raise MalformedRequest(f"the form is larger than {max_bytes} bytes", status=413)
        try:
            pairs = parse_qsl(self.body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS,
                              errors="strict")
        except UnicodeDecodeError:
            raise MalformedRequest("the form is not UTF-8") from None
        except ValueError:  # max_num_fields exceeded
            raise MalformedRequest(f"the form has more than {MAX_FORM_FIELDS} fields") from None
        out: dict[str, str] = {}
        for name, value in pairs:
            if "\x00" in name or "\x00" in value:
                raise MalformedRequest("the form holds a NUL character")
            out.setdefault(name, value)
        return out

    def json(self, *, max_bytes: int = MAX_BODY_BYTES) -> Any:
        """The JSON body, or ``None`` when it is not a usable JSON document: larger than ``max_bytes``, not
        UTF-8, not JSON (``NaN`` and ``Infinity`` are not), nested deeper than ``MAX_JSON_DEPTH``, or holding a
        lone surrogate (``"\\ud800"``: no UTF-8 text, so nothing could store it)."""
        if len(self.body) > max_bytes:
            return None
        try:
            data = json.loads(self.body.decode("utf-8"), parse_constant=_refuse_constant)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return None
        return data if _usable_json(data) else None


@dataclass
class Response:
    """An HTTP response. ``set_cookies`` holds ready ``Set-Cookie`` header values."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    set_cookies: list[str] = field(default_factory=list)

    @classmethod
    def html(cls, text: str, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        hdrs = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin"}
        hdrs.update(headers or {})
        return cls(status, text.encode("utf-8"), hdrs)

    @classmethod
    def json(cls, data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        hdrs = {"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        hdrs.update(headers or {})
        return cls(status, json.dumps(data, separators=(",", ":")).encode("utf-8"), hdrs)

    @classmethod
    def text(cls, text: str, *, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": "text/plain; charset=utf-8",
                                                 "Cache-Control": "no-store"})

    @classmethod
    def redirect(cls, location: str, *, status: int = 303) -> Response:
        return cls(status, b"", {"Location": location, "Cache-Control": "no-store"})


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value admits gzip (``gzip``, ``x-gzip`` or ``*`` with a q-value above
    0, unless gzip itself is given q=0). Any text is read; what cannot be parsed does not count."""
    if not accept_encoding:
        return False
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        coding, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:
                    q = 0.0
        weights[coding.strip().lower()] = q
    for name in ("gzip", "x-gzip"):
        if name in weights:
            return weights[name] > 0
    return weights.get("*", 0.0) > 0


def etags(if_none_match: str | None) -> set[str]:
    """The entity tags an ``If-None-Match`` value names, weak ones as strong (``W/`` dropped)."""
    return {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
