"""Plain request and response values shared by every web handler and every framework integration.

Handlers take a :class:`Request` and return a :class:`Response`; the Flask and Django integrations only
translate their objects to and from these. Handlers never raise for bad input: they answer 4xx.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def same_origin(req: Request, public_base_url: str) -> bool:
    """Whether a POST came from the shop's own pages: ``Origin``, else ``Sec-Fetch-Site``, else ``Referer``.

    The SDK's pages send ``Referrer-Policy: strict-origin``: a token in their URL never leaves in a
    ``Referer``, and their forms still carry a real ``Origin``. ``Origin: null`` (a form on a page with
    ``no-referrer``, a sandboxed frame) defers to ``Sec-Fetch-Site``, which a page cannot forge.
    """
    parts = urlsplit(public_base_url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = "" if parts.port in (None, {"https": 443, "http": 80}.get(scheme)) else f":{parts.port}"
    expected = f"{scheme}://{host}{port}"
    origin = req.header("origin")
    if origin and origin != "null":
        return origin.lower() == expected
    site = req.header("sec-fetch-site")
    if site:
        return site in ("same-origin", "none")
    if origin:  # "null" without Sec-Fetch-Site: nothing vouches for it
        return False
    return (req.header("referer") or "").lower().startswith(expected + "/")


@dataclass(frozen=True)
class Request:
    """An HTTP request. Header names are matched case-insensitively; ``body`` is the raw bytes."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    remote_addr: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "headers", _lower_keys(self.headers))

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def form(self, *, max_bytes: int = 64 * 1024) -> dict[str, str]:
        """The url-encoded form body (first value per name); empty for other content types."""
        if self.content_type != "application/x-www-form-urlencoded" or len(self.body) > max_bytes:
            return {}
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True, max_num_fields=100).items()}

    def json(self, *, max_bytes: int = 64 * 1024) -> Any:
        """The JSON body, or ``None`` when it is not valid JSON (or too large)."""
        if len(self.body) > max_bytes:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


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
