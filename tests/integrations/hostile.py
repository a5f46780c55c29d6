"""Hostile requests for every SDK endpoint, and the shop they are sent to (valid tokens to garble, the row counts
of every ``sp_`` table). Shared by the Flask and the Django runs of ``test_hostile_requests``.

A request starts as one the endpoint accepts (its method, a valid token, a well-formed body, headers of the
shop's own pages) and gets one to three hostile changes from a *family*: ``method`` (any other, ``HEAD``
included), ``token`` (garbled, foreign, missing, huge), ``headers`` (Origin, Referer, Sec-Fetch-Site, Cookie,
Accept-Language, ... set to odd values or dropped), ``body`` (deep, odd-typed or huge JSON, too many form fields,
NUL, bad UTF-8, another content type) or ``mixed`` (any of these). Starting from an accepted request lets each
change reach the code behind the checks it does not break.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from hypothesis import strategies as st

from shopprivacy import ShopPrivacy
from shopprivacy.rights.model import Notice
from shopprivacy.testing import row_counts

FAMILIES = ("method", "token", "headers", "body", "mixed")
OTHER_METHODS = ("GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS")
#: The storefront origin the shops list in ``consent.allowed_origins`` (a banner embedded on another origin).
STOREFRONT = "https://store.example"
FORM, JSON = "application/x-www-form-urlencoded", "application/json"


@dataclass(frozen=True)
class Endpoint:
    """One route and one of its methods."""

    name: str
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.name}"


@dataclass(frozen=True)
class Hostile:
    """A request to send. ``query`` pairs are percent-encoded (surrogates as their UTF-8 bytes), then ``junk`` is
    appended; ``headers`` hold text as generated (each client turns it into what its server would pass)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes
    junk: str = ""

    @property
    def query_string(self) -> str:
        return "&".join(quote(k, safe="", errors="surrogatepass") + "=" + quote(v, safe="", errors="surrogatepass")
                        for k, v in self.query) + self.junk


@dataclass
class Shop:
    """A facade with a mailbox, valid tokens per route and a consent cookie, and its ``sp_`` tables."""

    sp: ShopPrivacy
    base: str
    tokens: dict[str, list[str]] = field(default_factory=dict)
    consent_cookie: str = ""
    mailbox: list[Notice] = field(default_factory=list)

    def endpoints(self, prefix: str = "/privacy") -> list[Endpoint]:
        return [Endpoint(r.name, m, r.full_path(prefix)) for r in self.sp.web_routes() for m in r.methods]

    def counts(self) -> dict[str, int]:
        return row_counts(self.sp.store)


def _token(url: str) -> str:
    return url.split("?t=", 1)[1]


def seed(sp: ShopPrivacy, base: str) -> Shop:
    """Valid tokens of every kind: unsubscribe, opt-in confirmation, preferences, rights verification (of a
    request still open), an export download (a request verified, processed and its link mailed) and the link to
    a new address of a verified correction."""
    shop = Shop(sp, base)
    sp.email.set_sender(lambda mail: None)
    sp.rights.set_sender(shop.mailbox.append)
    email = sp.email
    confirm = _token(email.request_opt_in("ann@example.com", "newsletter", source="form", consent_text_version="v1"))
    shop.tokens["email.unsubscribe"] = [_token(email.unsubscribe_url("ann@example.com", "newsletter"))]
    shop.tokens["email.confirm"] = [confirm]
    shop.tokens["email.preferences"] = [_token(email.preferences_url("ann@example.com"))]
    done = sp.rights.open("export", {"email": "amy@example.com"})
    sp.outbox.deliver_due()
    sp.rights.verify(_token(_link(shop, "verify")))
    sp.rights.open("erase", {"email": "bob@example.com"})
    sp.run_due()
    shop.tokens["rights.verify"] = [_token(_link(shop, "verify"))]
    moving = sp.rights.open("rectify", {"email": "cat@example.com"}, changes={"email": "cat.new@example.com"})
    sp.outbox.deliver_due()
    sp.rights.verify(_token(_link(shop, "verify")))
    sp.run_due()
    assert sp.rights.get(moving.id).state == "awaiting_new"
    shop.tokens["rights.verify_new"] = [_token(_link(shop, "verify_new"))]
    shop.tokens["rights.download"] = [_token(_link(shop, "export_ready"))]
    assert sp.rights.get(done.id).state == "done"
    shop.consent_cookie = sp.consent.cookie_value("c_0123456789abcdef0123", frozenset({"analytics"}), False)
    return shop


def _link(shop: Shop, kind: str) -> str:
    link = [n.link for n in shop.mailbox if n.kind == kind][-1]
    assert link is not None
    return link


# -- text ---------------------------------------------------------------------------------------------------
#: Any code point, lone surrogates and control characters included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)
ODD = st.one_of(st.sampled_from(["", "\x00", "\ud800", "a\udfffb", "\t", "é", "😀", "\x7f", "%", "%00", "%ff",
                                 "%ED%A0%80", "\\", "'\"<>"]), st.sampled_from([5000, 20000]).map(lambda n: "x" * n))
TEXT = st.one_of(ANY_TEXT, ODD, st.text(max_size=20))


def _bad_urls(base: str) -> list[str]:
    return ["https://evil.example/x", "http://[::1", "null", base + "/\ud800", base + "/\x00", "javascript:alert(1)",
            base + "@evil.example/", "//evil.example/", base + ":99999/", base.upper() + "/", base + "/ a",
            "https://" + "a" * 3000 + ".example/"]


# -- the accepted request ------------------------------------------------------------------------------------
def _form(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(quote(k, safe="") + "=" + quote(v, safe="") for k, v in pairs).encode("ascii")


def plausible_bodies(shop: Shop, endpoint: Endpoint) -> list[tuple[str, bytes]]:
    """(content type, body) pairs the endpoint accepts."""
    v = shop.sp.consent.policy.version
    choice = {"method": "custom", "version": v, "granted": ["analytics"], "page": shop.base + "/products"}
    return {
        "consent.record": [(JSON, json.dumps(choice).encode()),
                           (JSON, json.dumps({"method": "reject_all", "version": v}).encode()),
                           (JSON, json.dumps({**choice, "cookie": shop.consent_cookie}).encode()),
                           (FORM, _form([("method", "accept_all"), ("version", v)]))],
        "email.unsubscribe": [(FORM, b"List-Unsubscribe=One-Click")],
        "email.confirm": [(FORM, b"resend=1"), (FORM, b"")],
        "email.preferences": [(FORM, b"list_newsletter=on&pause_days=30"), (FORM, b"all=off"), (FORM, b"resend=1")],
        "rights.portal": [(FORM, _form([("action", "export"), ("email", "amy@example.com")])),
                          (FORM, _form([("action", "rectify"), ("email", "amy@example.com"),
                                        ("new_email", "amy.new@example.com"), ("first_name", "Amy")])),
                          (FORM, _form([("action", "preferences"), ("email", "ann@example.com")]))],
    }.get(endpoint.name, [("", b"")]) if endpoint.method == "POST" else [("", b"")]


def accepted(shop: Shop, endpoint: Endpoint) -> st.SearchStrategy[Hostile]:
    tokens = shop.tokens.get(endpoint.name, [])
    query = st.sampled_from([(("t", t),) for t in tokens]) if tokens else st.just(())

    if endpoint.name == "consent.config":
        query = st.sampled_from([(), (("locale", "fr"),), (("locale", "pt-BR"),)])
    # the consent endpoints also answer the listed storefront (CORS), from whose pages no cookie comes
    origins = [shop.base, STOREFRONT] if endpoint.name.startswith("consent.") else [shop.base]

    def build(query: tuple[tuple[str, str], ...], body: tuple[str, bytes], origin: str) -> Hostile:
        headers = {"Origin": origin, "Referer": origin + "/products", "User-Agent": "Mozilla/5.0",
                   "Accept-Language": "en"}
        if body[0]:
            headers["Content-Type"] = body[0]
        if endpoint.method == "OPTIONS":
            headers.update({"Access-Control-Request-Method": "POST" if endpoint.name == "consent.record" else "GET",
                            "Access-Control-Request-Headers": "content-type"})
        return Hostile(endpoint.method, endpoint.path, query, headers, body[1])

    return st.builds(build, query, st.sampled_from(plausible_bodies(shop, endpoint)), st.sampled_from(origins))


# -- hostile changes -----------------------------------------------------------------------------------------
Change = Callable[[Hostile], Hostile]


def token_changes(shop: Shop, endpoint: Endpoint) -> st.SearchStrategy[Change]:
    mine = shop.tokens.get(endpoint.name, []) or ["x"]
    others = [t for name, ts in shop.tokens.items() if name != endpoint.name for t in ts]

    def garble(kind: str, pos: int, ch: str) -> Change:
        def change(req: Hostile) -> Hostile:
            token = mine[0]
            p = pos % len(token)
            new = {"truncate": token[:p], "drop": token[:p] + token[p + 1:], "replace": token[:p] + ch + token[p + 1:],
                   "insert": token[:p] + ch + token[p:], "double": token + token, "wrap": ch + token + ch}[kind]
            return replace(req, query=(("t", new),))
        return change

    def set_query(pairs: list[tuple[str, str]], junk: str) -> Change:
        return lambda req: replace(req, query=tuple(pairs), junk=junk)

    def add(pairs: list[tuple[str, str]]) -> Change:
        return lambda req: replace(req, query=req.query + tuple(pairs))

    value = st.one_of(st.sampled_from(others), TEXT)
    return st.one_of(
        st.builds(garble, st.sampled_from(["truncate", "drop", "replace", "insert", "double", "wrap"]),
                  st.integers(0, 4096), st.sampled_from("Ax0-_.=%+/ \x00é\ud800")),
        st.builds(set_query, st.lists(st.tuples(st.sampled_from(["t", "lang", "locale", "x", ""]), value), max_size=3),
                  st.sampled_from(["", "&&", "&t", "&=x", "&%zz=%", "&t=%ED%A0%80"])),
        st.builds(add, st.lists(st.tuples(st.sampled_from(["t", "lang", "locale"]), value), min_size=1, max_size=2)))


CONTENT_TYPES = [FORM, JSON, "text/plain", "multipart/form-data; boundary=x", "application/json; charset=utf-16",
                 FORM + "; charset=latin-1", "APPLICATION/JSON", ";", "x\x00y", ""]


def header_changes(shop: Shop) -> st.SearchStrategy[Change]:
    urls = st.one_of(st.sampled_from(_bad_urls(shop.base)), TEXT)
    origins = st.one_of(st.sampled_from([*_bad_urls(shop.base), STOREFRONT, STOREFRONT.upper(), STOREFRONT + "/",
                                         STOREFRONT + ":443", " " + STOREFRONT, "http://store.example"]), TEXT)
    cookie = st.one_of(
        st.sampled_from([f"sp_consent={shop.consent_cookie}", f"sp_consent={shop.consent_cookie[:-3]}abc",
                         "sp_consent=" + "A" * 5000, "_ga=1; _ga_X=2; _gid=3", "_ga\x01=1; _ga_1=x", 'x="\\000"',
                         "_ga=1; " * 400, "_ga_a b=1; _ga;=2"]),
        TEXT.map(lambda t: "sp_consent=" + t))
    values: dict[str, st.SearchStrategy[str]] = {
        "Content-Type": st.one_of(st.sampled_from(CONTENT_TYPES), TEXT), "Origin": origins, "Referer": urls,
        "Sec-Fetch-Site": st.one_of(st.sampled_from(["same-origin", "cross-site", "same-site", "none"]), TEXT),
        "Cookie": cookie,
        "Accept-Language": st.one_of(st.sampled_from(["fr-CH, fr;q=0.9", "ar", "*;q=nan", "en;q=1e999",
                                                      "de;q=-1,nl", "en," * 3000]), TEXT),
        "User-Agent": TEXT, "Sec-GPC": st.sampled_from(["1", "0", " 1 ", "\x001"]), "If-None-Match": TEXT,
        "X-CSP-Nonce": TEXT, "X-Odd\x00Name": TEXT,
        "Access-Control-Request-Method": st.one_of(st.sampled_from(OTHER_METHODS), TEXT),
        "Access-Control-Request-Headers": st.one_of(st.sampled_from(["content-type, x-evil", "cookie", ""]), TEXT),
    }

    def set_header(name: str, value: str) -> Change:
        return lambda req: replace(req, headers={**req.headers, name: value})

    def drop(name: str) -> Change:
        return lambda req: replace(req, headers={k: v for k, v in req.headers.items() if k != name})

    def many(n: int) -> Change:
        return lambda req: replace(req, headers={**req.headers, **{f"X-H{i}": "1" for i in range(n)}})

    return st.one_of(*(st.builds(set_header, st.just(name), value) for name, value in values.items()),
                     st.builds(drop, st.sampled_from(list(values))), st.builds(many, st.integers(90, 150)))


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                  st.dictionaries(TEXT, inner, max_size=4)),
                           max_leaves=12)


def _dump(value: object) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


def body_changes(shop: Shop) -> st.SearchStrategy[Change]:
    keys = st.sampled_from(["method", "version", "granted", "page", "gpc", "override", "cookie", "x"])
    urls = st.sampled_from(_bad_urls(shop.base))

    def field_of_json(key: str, value: object) -> Change:
        def change(req: Hostile) -> Hostile:
            try:
                data = json.loads(req.body)
            except (ValueError, RecursionError):  # an earlier change made it unreadable
                data = {}
            data = {**data, key: value} if isinstance(data, dict) else {key: value}
            return replace(req, body=_dump(data), headers={**req.headers, "Content-Type": JSON})
        return change

    def deep(n: int, opener: bytes) -> Change:
        closer = b"]" if opener == b"[" else b"}"
        inner = b'{"a":' * n + b"1" + b"}" * n if opener == b"{" else opener * n + closer * n
        return lambda req: replace(req, body=inner, headers={**req.headers, "Content-Type": JSON})

    def whole(ctype: str, body: bytes) -> Change:
        return lambda req: replace(req, body=body, headers={**req.headers, "Content-Type": ctype})

    def form_fields(n: int) -> Change:
        def change(req: Hostile) -> Hostile:
            extra = b"&".join(b"f%d=1" % i for i in range(n))
            return replace(req, body=(req.body + b"&" if req.body else b"") + extra,
                           headers={**req.headers, "Content-Type": FORM})
        return change

    def spliced(piece: bytes, at: int) -> Change:
        def change(req: Hostile) -> Hostile:
            p = at % (len(req.body) + 1)
            return replace(req, body=req.body[:p] + piece + req.body[p:])
        return change

    def padded(n: int) -> Change:
        return lambda req: replace(req, body=req.body + b"&x=" + b"y" * n)

    return st.one_of(
        st.builds(field_of_json, keys, st.one_of(JSON_VALUES, urls)),
        st.builds(field_of_json, st.just("cookie"), st.sampled_from(
            [shop.consent_cookie, shop.consent_cookie[:-2] + "xx", shop.consent_cookie + ".x", "A" * 5000, ""])),
        st.builds(deep, st.integers(20, 3000), st.sampled_from([b"[", b"{"])),
        st.builds(whole, st.sampled_from([JSON, FORM, "text/plain", ""]), st.one_of(
            JSON_VALUES.map(_dump), st.binary(max_size=200),
            st.sampled_from([b"NaN", b'{"a": Infinity}', b'"\\ud800"', b"\xef\xbb\xbf{}", b"\xff\xfe{}"]))),
        st.builds(form_fields, st.integers(90, 400)),
        st.builds(spliced, st.sampled_from([b"%00", b"\x00", b"%ff", b"\xff", b"&", b"=", b"%", b"%ED%A0%80",
                                            b"\\ud800", b'"', b"+"]), st.integers(0, 500)),
        st.builds(padded, st.sampled_from([1000, 64 * 1024, 600 * 1024])),
    )


def method_changes() -> st.SearchStrategy[Change]:
    return st.sampled_from(OTHER_METHODS).map(lambda m: (lambda req: replace(req, method=m)))


def requests(shop: Shop, endpoint: Endpoint, family: str) -> st.SearchStrategy[Hostile]:
    """An accepted request to ``endpoint`` with one to three hostile changes of ``family``."""
    changes = {"method": method_changes(), "token": token_changes(shop, endpoint), "headers": header_changes(shop),
               "body": body_changes(shop)}
    pool = st.one_of(*changes.values()) if family == "mixed" else changes[family]

    def apply(req: Hostile, chosen: list[Change]) -> Hostile:
        for change in chosen:
            req = change(req)
        return req

    return st.builds(apply, accepted(shop, endpoint), st.lists(pool, min_size=1, max_size=3))


# -- the property --------------------------------------------------------------------------------------------
Sender = Callable[[Hostile], tuple[int, dict[str, str]]]


def check(shop: Shop, send: Sender, req: Hostile) -> None:
    """Never a 5xx; a refused request, and any GET, HEAD or OPTIONS, changes no row; a redirect stays on the
    shop; CORS is granted to the listed storefront only (and ``*`` for the public static files)."""
    before = shop.counts()
    status, answer_headers = send(req)
    assert status < 500, status
    if status >= 400 or req.method in ("GET", "HEAD", "OPTIONS"):
        assert shop.counts() == before, status
    granted = answer_headers.get("access-control-allow-origin")
    assert granted in (None, "*", STOREFRONT), granted
    assert "access-control-allow-credentials" not in answer_headers
    if granted == STOREFRONT:
        assert (req.headers.get("Origin") or "").strip().lower() == STOREFRONT, req.headers.get("Origin")
    if 300 <= status < 400 and "location" in answer_headers:
        location = answer_headers["location"]
        assert location == "/" or location.startswith(shop.base + "/"), location
