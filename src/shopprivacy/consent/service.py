"""``sp.consent``: policy, signed consent cookie, proof ledger, server-side state and the banner tags (drawn by
:mod:`.banner`)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from typing import Any, Literal, cast

from itsdangerous import BadData
from sqlalchemy import insert, select

from ..errors import ConfigurationError, InvalidInput, NotFoundError
from ..i18n import available_locales
from ..keys import Keyring
from ..signing import CachedKeyTimestampSigner
from ..store import AuditLog, Store, SubjectRestrictions, proof, utcnow
from ..urls import MAX_URL_CHARS, http_url
from .banner import LOCALES, Banner
from .policy import Policy
from .settings import ConsentSettings
from .state import GPC_DENIES, NO_CONSENT, ConsentState, cookie_in_header
from .tables import consent_records

log = logging.getLogger("shopprivacy.consent")
Method = Literal["accept_all", "reject_all", "custom", "gpc", "withdraw"]
METHODS = frozenset({"accept_all", "reject_all", "custom", "gpc", "withdraw"})
#: Most request cookies :meth:`Consent.expire_headers` looks at.
MAX_COOKIES = 200
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}")
_SUBJECT = re.compile(r"[A-Za-z0-9_.:-]{1,90}")


@dataclass(frozen=True)
class Choice:
    """A visitor's choice as posted by the banner (or the no-script form)."""

    granted: frozenset[str]
    method: Method
    gpc: bool = False
    override: bool = False  # categories GPC denies were switched on explicitly after the signal
    page_url: str | None = None
    consent_id: str | None = None  # the visitor's existing consent id, kept across changes
    locale: str | None = None  # the banner language the visitor saw (its texts' digest is recorded)

    def __post_init__(self) -> None:
        """Refuse a choice whose method contradicts what it grants (InvalidInput, nothing written).

        ``withdraw`` lists what stays granted (a partial withdrawal keeps the rest); ``gpc`` is the browser's
        Global Privacy Control overriding an earlier grant, so it needs the signal and grants neither
        marketing nor sale of data.
        """
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise InvalidInput("unknown consent method")
        if not isinstance(self.granted, frozenset) or not all(isinstance(c, str) for c in self.granted):
            raise InvalidInput("granted must be a frozenset of category names")
        if self.method == "reject_all" and self.granted:
            raise InvalidInput("reject_all grants nothing")
        if self.method == "gpc" and (not self.gpc or self.override or self.granted & GPC_DENIES):
            raise InvalidInput("a gpc record needs the signal and grants neither marketing nor sale of data")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


class Consent:
    """Cookie consent for one shop.

    ``public_base_url`` and ``default_locale`` are the shop's (``Settings``): the banner's links point there,
    cookies are ``Secure`` on https, and the banner speaks ``default_locale`` when the visitor's is not offered.
    ``restrictions`` returns what rights requests left on customers (:meth:`request_state` reads it).
    """

    def __init__(self, settings: ConsentSettings, *, store: Store, audit: AuditLog, keyring: Keyring,
                 public_base_url: str, default_locale: str = "en", clock: Callable[[], datetime] = utcnow,
                 restrictions: Callable[[], SubjectRestrictions] | None = None) -> None:
        self.settings = settings
        self.store, self.audit, self.keyring, self.clock = store, audit, keyring, clock
        self._restrictions = restrictions
        self.public_base_url, self.default_locale = public_base_url, default_locale
        self.policy = Policy(self.settings)
        self._banner = Banner(settings, self.policy, public_base_url=public_base_url, default_locale=default_locale)
        self._signer = CachedKeyTimestampSigner(keyring.subkeys("consent-cookie"), salt="shopprivacy.consent-cookie",
                                       key_derivation="hmac", digest_method=hashlib.sha256)
        self._max_age = self.settings.max_age_days * 86400
        self._digests: dict[str, str] = {}

    @property
    def cookie_max_age(self) -> int:
        """Seconds the consent cookie lives (``max_age_days``)."""
        return self._max_age

    # -- cookie ----------------------------------------------------------------------------------------
    def cookie_value(self, consent_id: str, granted: frozenset[str], override: bool) -> str:
        """``base64url(JSON payload).timestamp.signature``; the banner reads the payload, the server verifies."""
        payload: dict[str, Any] = {"i": consent_id, "v": self.policy.version, "g": sorted(granted)}
        if override:
            payload["o"] = 1
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return self._signer.sign(body).decode("ascii")

    def set_cookie_header(self, value: str) -> str:
        secure = "; Secure" if self.public_base_url.startswith("https://") else ""
        return f"{self.settings.cookie_name}={value}; Max-Age={self._max_age}; Path=/; SameSite=Lax{secure}"

    def _read_cookie(self, raw: str) -> dict[str, Any] | None:
        try:
            body = self._signer.unsign(raw.encode("ascii"), max_age=self._max_age)
            data = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
        except (BadData, ValueError, UnicodeError):
            log.info("consent cookie rejected (forged, malformed or expired): treated as no consent")
            return None
        return data if isinstance(data, dict) else None

    # -- server-side state -------------------------------------------------------------------------------
    def cookie_from_header(self, header: str) -> str | Literal[False] | None:
        """The consent cookie's value in a raw ``Cookie`` header (see :func:`~.state.cookie_in_header`)."""
        return cookie_in_header(header, self.settings.cookie_name)

    def state_from_header(self, cookie_header: str, gpc: str = "",
                          parse: Callable[[], Mapping[str, str]] | None = None) -> ConsentState:
        """:meth:`state` from a raw ``Cookie`` header (what a framework hook has before parsing every cookie)
        and the ``Sec-GPC`` value; ``parse`` parses all cookies, for the rare header this does not read alone."""
        raw = self.cookie_from_header(cookie_header)
        if raw is False:
            cookies: Mapping[str, str] = parse() if parse is not None else {}
        else:
            cookies = {} if raw is None else {self.settings.cookie_name: raw}
        return self.state(cookies, {"Sec-GPC": gpc} if gpc else None)

    def request_state(self, cookie_header: str, gpc: str = "", *, identity: Mapping[str, str | None] | None = None,
                      parse: Callable[[], Mapping[str, str]] | None = None) -> ConsentState:
        """The state the Flask hook and the Django middleware put on a request: :meth:`state_from_header`, with
        the categories the rights requests of the signed-in customer refuse denied too (``identity``:
        ``{"email": ...}`` and/or ``{"customer_id": ...}``; ``None`` for a visitor)."""
        state = self.state_from_header(cookie_header, gpc, parse)
        if not identity:
            return state
        if self._restrictions is None:
            raise ConfigurationError("this Consent has no restrictions: use sp.consent from ShopPrivacy")
        return state.denying(self._restrictions().consent_denials(identity))

    def state(self, cookies: Mapping[str, str], headers: Mapping[str, str] | None = None) -> ConsentState:
        """The visitor's consent: GPC applied; forged, expired or old-policy cookies mean no consent."""
        gpc = False
        if headers:
            value = headers.get("Sec-GPC") or headers.get("sec-gpc")
            gpc = value is not None and value.strip() == "1"
        raw = cookies.get(self.settings.cookie_name)
        if not raw or len(raw) > 4096:
            return ConsentState(decided=False, gpc=gpc) if gpc else NO_CONSENT
        data = self._read_cookie(raw)
        if data is None or data.get("v") != self.policy.version or not isinstance(data.get("g"), list):
            return ConsentState(decided=False, gpc=gpc)
        granted = frozenset(c for c in data["g"] if isinstance(c, str) and c in self.policy.optional)
        cid = data.get("i") if isinstance(data.get("i"), str) else None
        return ConsentState(decided=True, granted=granted, consent_id=cid, gpc=gpc, gpc_override=bool(data.get("o")))

    # -- proof -------------------------------------------------------------------------------------------
    def parse_choice(self, data: object) -> Choice:
        """Validate a posted choice (JSON object); InvalidInput on anything malformed or unknown."""
        if not isinstance(data, dict):
            raise InvalidInput("the consent body must be a JSON object")
        method = data.get("method")
        if not isinstance(method, str) or method not in METHODS:
            raise InvalidInput("unknown consent method")
        if data.get("version") != self.policy.version:
            raise InvalidInput("the consent was given for another version of the policy")
        try:
            granted = self.policy.check_categories(data.get("granted", []))
        except ValueError:
            raise InvalidInput("granted must list known optional categories") from None
        page = data.get("page")
        page = None if page == "" else page
        if page is not None and http_url(page) is None:
            raise InvalidInput(f"page must be an http(s) URL of at most {MAX_URL_CHARS} printable ASCII characters")
        gpc, override = data.get("gpc", False), data.get("override", False)
        if not isinstance(gpc, bool) or not isinstance(override, bool):
            raise InvalidInput("gpc and override must be true or false")
        locale = data.get("locale")
        if locale is not None and (not isinstance(locale, str) or locale not in available_locales(LOCALES)):
            raise InvalidInput("locale must be one of the banner's languages")
        return Choice(granted=granted, method=cast("Method", method), gpc=gpc, override=override, page_url=page,
                      locale=locale)

    def texts_digest(self, locale: str) -> str:
        """SHA-256 of exactly what the banner shows in ``locale`` (title, text, buttons, notices, every category's
        name and description, the policy link and version): recorded with each choice made in that language."""
        if locale in self._digests:
            return self._digests[locale]
        cfg = self.config(locale)
        shown = {k: cfg[k] for k in ("version", "lang", "policyUrl", "categories", "t")}
        digest = hashlib.sha256(json.dumps(shown, sort_keys=True, separators=(",", ":"),
                                           ensure_ascii=False).encode()).hexdigest()
        self._digests[locale] = digest
        return digest

    @staticmethod
    def _clean_url(url: str | None) -> str | None:
        """Scheme, host and path of an http(s) URL, at most 500 characters (its query and user info may hold
        personal data); ``None`` for anything else, such as a malformed ``Referer``."""
        parts = http_url(url)
        if parts is None:
            return None
        return f"{parts.scheme.lower()}://{parts.netloc}{parts.path}"[:500]

    def record(self, choice: Choice, *, ip: str | None = None, user_agent: str | None = None) -> tuple[str, str]:
        """Append the proof row (audited) and return ``(consent_id, Set-Cookie header)``."""
        consent_id, value = self.record_signed(choice, ip=ip, user_agent=user_agent)
        return consent_id, self.set_cookie_header(value)

    def record_signed(self, choice: Choice, *, ip: str | None = None, user_agent: str | None = None,
                      subject: str | None = None) -> tuple[str, str]:
        """Append the proof row (audited) and return ``(consent_id, signed cookie value)``: for a banner on
        another origin, which writes the cookie itself (for ``cookie_max_age`` seconds).

        ``subject`` is the keyed pseudonym of a customer a platform vouched for (a signed Shopify app proxy
        request names the logged-in customer): the row then holds for that customer too
        (:meth:`customer_history`), not only for the browser's consent id."""
        if subject is not None and not (isinstance(subject, str) and _SUBJECT.fullmatch(subject)):
            raise InvalidInput("subject must be a keyed pseudonym")
        if choice.gpc and not choice.override and choice.granted & GPC_DENIES:
            choice = replace(choice, granted=choice.granted - GPC_DENIES)  # the signal wins without an override
        elif choice.override and not (choice.gpc and choice.granted & GPC_DENIES):
            choice = replace(choice, override=False)  # nothing was overridden
        consent_id = choice.consent_id or "c_" + secrets.token_hex(10)
        locale = choice.locale or self.default_locale
        denied = sorted(set(self.policy.optional) - choice.granted)
        ring, now = self.keyring, self.clock()
        with self.store.begin() as conn:
            result = conn.execute(insert(consent_records).values(
                consent_id=consent_id, policy_version=self.policy.version, granted=sorted(choice.granted),
                denied=denied, method=choice.method, gpc=choice.gpc, gpc_override=choice.override,
                page_url=self._clean_url(choice.page_url), locale=locale, texts_digest=self.texts_digest(locale),
                ip_hash=ring.keyed_hash(ip, namespace="ip") if ip else None,
                ua_hash=ring.keyed_hash(user_agent[:500], namespace="user-agent") if user_agent else None, at=now,
                subject=subject))
            proof.cover(conn, self.audit, consent_records, result, actor="visitor", subject=consent_id)
            self.audit.append(conn, actor="visitor", action="consent.recorded", subject=consent_id,
                              meta={"method": choice.method, "policy": self.policy.version,
                                    "granted": ",".join(sorted(choice.granted)) or "-", "gpc": choice.gpc,
                                    "override": choice.override, **({"customer": subject} if subject else {})})
        return consent_id, self.cookie_value(consent_id, choice.granted, choice.override)

    def following(self, choice: Choice, current: ConsentState) -> Choice:
        """``choice`` as the next entry of the visitor's history: under their consent id, with the ``Sec-GPC``
        signal applied (:meth:`under_gpc`), and as a withdrawal (GDPR Art. 7(3)) when it switches off a
        category that was in effect."""
        choice = self.under_gpc(choice, current)
        method = choice.method
        if method in ("custom", "reject_all") and current.decided and current.effective - choice.granted:
            method = "withdraw"
        return replace(choice, method=method, consent_id=current.consent_id)

    @staticmethod
    def under_gpc(choice: Choice, current: ConsentState = NO_CONSENT) -> Choice:
        """``choice`` with Global Privacy Control applied on the server, whatever the client sent.

        The signal is on when the request carries ``Sec-GPC: 1`` (``current.gpc``) or the banner reports it
        (``gpc: true``); ``gpc: false`` cannot switch the header off. Under the signal, marketing and sale of
        data are granted only by an explicit opt-in for those categories: a per-category choice (``custom`` or
        ``withdraw``, the banner's second layer) that says ``override``. *Accept all* — the no-script form or
        JSON — never overrides; it keeps only the categories an earlier recorded override granted (the signed
        cookie's). Anything else has those categories removed. Without the signal ``override`` means nothing
        and is dropped, so it cannot be given in advance."""
        gpc = choice.gpc or current.gpc
        if not gpc:
            return replace(choice, override=False)
        asked = choice.granted & GPC_DENIES
        if choice.override and choice.method in ("custom", "withdraw"):
            kept = asked
        elif choice.method == "accept_all" and current.decided and current.gpc_override:
            kept = asked & current.granted
        else:
            kept = frozenset()
        return replace(choice, granted=(choice.granted - GPC_DENIES) | kept, gpc=True, override=bool(kept))

    def expire_headers(self, cookie_names: Iterable[str], granted: frozenset[str]) -> list[str]:
        """``Set-Cookie`` headers deleting the declared cookies of every category not in ``granted`` among
        ``cookie_names`` (the request's cookies). The banner deletes what script can see; this reaches
        ``HttpOnly`` cookies too, on the host and on the declared domain. Only names that are cookie tokens
        (RFC 6265) are echoed, from the first ``MAX_COOKIES`` (a browser keeps fewer per site)."""
        secure = "; Secure" if self.public_base_url.startswith("https://") else ""
        names = [n for n in islice(cookie_names, MAX_COOKIES) if isinstance(n, str) and _COOKIE_NAME.fullmatch(n)]
        out: list[str] = []
        for category, decl in self.settings.categories.items():
            if category == "necessary" or category in granted:
                continue
            for c in decl.cookies:
                prefix = c.name[:-1] if c.name.endswith("*") else None
                for name in names:
                    if name == self.settings.cookie_name or not (name.startswith(prefix) if prefix else name == c.name):
                        continue
                    for domain in ("", *([f"; Domain={c.domain}"] if c.domain else [])):
                        out.append(f"{name}=; Max-Age=0; Path=/{domain}{secure}")
        return out

    def export(self, consent_id: str) -> list[dict[str, Any]]:
        """Every recorded choice of one consent id, oldest first (proof under GDPR Art. 7(1))."""
        rows = self._rows(consent_records.c.consent_id == consent_id)
        if not rows:
            raise NotFoundError("no consent is recorded under this id")
        return rows

    def customer_history(self, subject: str) -> list[dict[str, Any]]:
        """Every choice recorded for one known customer (``subject``, the pseudonym passed to
        :meth:`record_signed`), from any browser, oldest first; empty when there is none."""
        return self._rows(consent_records.c.subject == subject)

    def _rows(self, where: Any) -> list[dict[str, Any]]:
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(consent_records).where(where)
                                .order_by(consent_records.c.at, consent_records.c.id)).all()
        return [{"consent_id": r.consent_id, "at": r.at.isoformat(), "policy_version": r.policy_version,
                 "granted": list(r.granted), "denied": list(r.denied), "method": r.method, "gpc": r.gpc,
                 "gpc_override": r.gpc_override, "locale": r.locale, "texts_digest": r.texts_digest,
                 "page_url": r.page_url, "ip_hash": r.ip_hash, "user_agent_hash": r.ua_hash,
                 **({"customer": r.subject} if r.subject else {})} for r in rows]

    # -- rendering (the composed :class:`~.banner.Banner`) ------------------------------------------------
    def texts(self, locale: str) -> dict[str, str]:
        """The banner's texts in ``locale``: the SDK's catalog with the shop's own wording over it
        (``SHOPPRIVACY_CONSENT__TEXTS``, for that language or its base language)."""
        return self._banner.texts(locale)

    def config(self, locale: str) -> dict[str, Any]:
        """The banner configuration for one language (what the data attribute carries)."""
        return self._banner.config(locale)

    def locale_for(self, requested: str | None, accept_language: str | None = None) -> str:
        """The banner language offered for a page's language tag and/or an ``Accept-Language`` value."""
        return self._banner.locale_for(requested, accept_language)

    def asset_url(self, name: str) -> str:
        """The versioned URL of ``consent.js`` or ``consent.css`` (cached for a year; the URL changes with the
        file), for a storefront's own script tag."""
        return self._banner.asset_url(name)

    def banner_html(self, locale: str | None = None, nonce: str | None = None, *, region: str | None = None,
                    denied: Iterable[str] = ()) -> str:
        """The tags for the page's ``<head>``: stylesheet and the banner script (before any other tag, so the
        Consent Mode default runs first). The no-script form goes in the body: :meth:`noscript_html`.

        ``locale`` is the page's language (a tag or an ``Accept-Language`` value). ``region`` is the visitor's
        ISO 3166 code when the page knows it (e.g. from a CDN's country header); it only decides where
        ``sale_of_data`` narrows Consent Mode (``consent_mode_sale_of_data_regions``), and a page that passes it
        varies by region. ``denied``: categories refused for the signed-in customer by their rights request
        (the ``denied`` of :meth:`request_state`; the integrations pass it): the banner then never allows
        them on this page, whatever the cookie says. Otherwise the HTML depends only on the language, never on
        the visitor's choice.
        """
        return self._banner.head_html(locale, nonce, region=region, denied=denied)

    def noscript_html(self, locale: str | None = None, *, state: ConsentState | None = None) -> str:
        """The form for visitors without JavaScript (*Accept all* / *Reject all*), for the end of ``<body>``
        (a ``<form>`` is not allowed in ``<head>``). ``""`` once ``state`` (:meth:`state` of the request) holds
        a choice for the current policy, so the form is gone after the visitor chose."""
        return self._banner.noscript_html(locale, state=state)
