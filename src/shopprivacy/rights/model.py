"""Plain values of rights requests: the request, the verified subject, receipts and notices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..errors import InvalidInput
from ..fields.blind_index import normalise
from ..i18n import direction
from .masking import MaskedChange

Kind = Literal["export", "rectify", "erase", "restrict", "object", "opt_out_sale", "question", "complaint"]
#: ``restrict`` (GDPR Art. 18), ``object`` to direct marketing and profiling (Art. 21), ``opt_out_sale`` (CCPA/CPRA
#: opt-out of sale/sharing) leave a state on the person (:mod:`.subject_effects`) rather than change their data.
#: ``question`` and ``complaint`` (privacy feedback) carry the person's message and are answered by the operator.
KINDS: frozenset[str] = frozenset({"export", "rectify", "erase", "restrict", "object", "opt_out_sale", "question",
                                   "complaint"})
FEEDBACK_KINDS: frozenset[str] = frozenset({"question", "complaint"})
#: Longest message of a question or complaint, and of an answer.
MESSAGE_CHARS = 4000
#: Identifier keys a request may carry.
IDENTIFIERS: tuple[str, ...] = ("email", "phone", "customer_id")
#: States in which a request still needs work. ``awaiting_new``: a verified correction of an identifier
#: (e-mail, phone) waits until the new value is confirmed through the link sent to it.
OPEN_STATES: frozenset[str] = frozenset({"received", "verified", "in_progress", "extended", "awaiting_new"})
CLOSED_STATES: frozenset[str] = frozenset({"done", "rejected", "expired"})
#: Fields the self-service portal may correct; sources map them onto their own columns.
RECTIFIABLE: frozenset[str] = frozenset({"email", "first_name", "last_name", "name", "phone", "address"})
#: Correctable fields that can identify (and so authenticate) a person: requests are opened and verified with
#: them, sources match on them (a source's subject column is written only by the identifier it matches on).
#: Changing one that identifies people here needs proof of control of the new value (:mod:`.identifier_change`).
AUTHENTICATING: tuple[str, ...] = tuple(k for k in IDENTIFIERS if k in RECTIFIABLE)
Outcome = Literal["erased", "anonymised", "retained", "corrected", "exported", "pending", "manual", "not_held",
                  "restricted", "opted_out"]


@dataclass(frozen=True)
class RightsRequest:
    """One request as it stands. ``verified`` is true once at least one identifier was verified (or the
    platform verified the requester); only verified identifiers are ever used."""

    id: str
    kind: str
    state: str
    regime: str
    channel: str
    received_at: datetime
    due_at: datetime
    verified: bool
    verified_by: str | None = None
    locale: str = "en"
    external_id: str | None = None
    acknowledge_by: datetime | None = None
    acknowledged_at: datetime | None = None
    extension_reason: str | None = None
    reject_reason: str | None = None
    completed_at: datetime | None = None
    subject: str = ""  # pseudonym used in the audit log
    forwarded_by: str | None = None  # the platform that forwarded the request (e.g. a Shopify webhook)
    cancel_until: datetime | None = None  # a confirmed erasure in its grace window: cancellable until then

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class Subject:
    """The verified identifiers of the person a request is about; never logged (``repr`` hides them).

    ``order_ids``: the orders a platform named with a forwarded request (Shopify's ``orders_to_redact`` /
    ``orders_requested``), for sources that match on ``order_id``.
    """

    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)
    customer_id: str | None = field(default=None, repr=False)
    pseudonym: str = ""
    request_id: str = ""
    order_ids: tuple[str, ...] = field(default=(), repr=False)

    def __bool__(self) -> bool:
        return bool(self.email or self.phone or self.customer_id)

    def get(self, kind: str) -> str | None:
        value = getattr(self, kind, None) if kind in IDENTIFIERS else None
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class FieldOutcome:
    """What happened to one field (or object) in one source, and why when it was kept."""

    field: str
    outcome: str  # one of Outcome
    reason: str = ""
    rows: int = 0


@dataclass(frozen=True)
class SourceReceipt:
    """The per-field receipt of one source for one erasure or rectification."""

    source: str
    fields: tuple[FieldOutcome, ...] = ()
    rows: int = 0
    pending: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "rows": self.rows, "pending": self.pending,
                "fields": [{"field": f.field, "outcome": f.outcome, "reason": f.reason, "rows": f.rows}
                           for f in self.fields]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SourceReceipt:
        return cls(str(data["source"]), tuple(FieldOutcome(str(f["field"]), str(f["outcome"]), str(f["reason"]),
                                                           int(f["rows"])) for f in data.get("fields", [])),
                   int(data.get("rows", 0)), bool(data.get("pending", False)))


@dataclass(frozen=True)
class Notice:
    """A message the shop's sender delivers. ``to`` is an address or phone number: do not log it.

    ``kind``: ``verify`` (with ``link``), ``acknowledged``, ``export_ready`` (with ``link``), ``done``,
    ``done_platform_pending`` (an erasure done here; the platform accepted its part and completes it on its own
    schedule), ``rejected``, ``extended``, ``erasure_scheduled`` (with ``link``: a confirmed erasure waits
    ``erasure_grace_minutes`` and can be cancelled from the link until ``request.cancel_until``), ``preferences``
    (with ``link``), ``reminder`` (to the operator), ``platform_erasure_unverified`` (to the operator: reading the
    customer back after the platform's erasure still found data), ``verify_new`` (with ``link``: to the new e-mail
    address or phone of a correction, which is made only once it is confirmed), ``identifier_changed`` (to the
    previous address or phone once the correction is made: say whom to contact if it was not them),
    ``restriction_lifted`` (the operator lifted a restriction the person asked for: GDPR Art. 18(3) wants them
    told) or ``answered`` (the operator's answer to a question or complaint, in ``message``).
    ``channel``: ``email``, ``sms`` or ``operator``.
    ``changes``: for a rectify request, each correction with its values masked (``j***@e******.com``).
    """

    kind: str
    channel: str
    to: str = field(repr=False)
    locale: str
    request: RightsRequest | None
    link: str | None = field(default=None, repr=False)
    changes: tuple[MaskedChange, ...] = field(default=(), repr=False)
    message: str | None = field(default=None, repr=False)

    @property
    def direction(self) -> str:
        """``"rtl"`` or ``"ltr"``: the ``dir`` of an HTML mail in :attr:`locale`."""
        return direction(self.locale)


@dataclass(frozen=True)
class Receipt:
    """Everything a regulator may ask about one request: the request, its timeline and per-source receipts."""

    request: RightsRequest
    sources: tuple[SourceReceipt, ...]
    failures: Mapping[str, str]  # source -> error type of the last failed attempt
    timeline: tuple[tuple[datetime, str], ...]

    def to_json(self) -> dict[str, Any]:
        r = self.request
        return {"id": r.id, "kind": r.kind, "state": r.state, "regime": r.regime, "channel": r.channel,
                "received_at": r.received_at.isoformat(), "due_at": r.due_at.isoformat(),
                "acknowledge_by": r.acknowledge_by.isoformat() if r.acknowledge_by else None,
                "acknowledged_at": r.acknowledged_at.isoformat() if r.acknowledged_at else None,
                "verified": r.verified, "verified_by": r.verified_by, "forwarded_by": r.forwarded_by,
                "extension_reason": r.extension_reason,
                "reject_reason": r.reject_reason, "subject": r.subject,
                "completed_at": r.completed_at.isoformat() if r.completed_at else None,
                "cancel_until": r.cancel_until.isoformat() if r.cancel_until else None,
                "sources": [s.to_json() for s in self.sources], "failures": dict(self.failures),
                "timeline": [{"at": at.isoformat(), "action": action} for at, action in self.timeline]}


def clean_text(value: object, what: str, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(f"{what} must be text of 1-{limit} characters")
    if any(ord(c) < 32 or c in "\x7f\u2028\u2029" for c in value) or not value.isprintable():
        raise InvalidInput(f"{what} must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} must be valid text") from None
    return value.strip()


def parse_identity(identity: object, *, dropped: list[str] | None = None) -> dict[str, str]:
    """Validated, normalised identifiers; InvalidInput for unknown keys, empty or malformed values.

    With ``dropped`` (a list), a malformed value is left out and its key appended instead (platform payloads
    carry phones without a country code); at least one usable identifier is still required. A platform's
    integer customer id is taken as text.
    """
    if not isinstance(identity, Mapping) or not identity:
        raise InvalidInput("identity must map at least one of email, phone, customer_id to a value")
    unknown = set(identity) - set(IDENTIFIERS)
    if unknown:
        raise InvalidInput(f"unknown identity keys: {', '.join(sorted(map(str, unknown)))[:200]} "
                           f"(known: {', '.join(IDENTIFIERS)})")
    out: dict[str, str] = {}
    for kind in IDENTIFIERS:
        raw = identity.get(kind)
        if raw is None or raw == "":
            continue
        if kind == "customer_id" and isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        try:
            out[kind] = _identifier(kind, raw)
        except InvalidInput:
            if dropped is None:
                raise
            dropped.append(kind)
    if not out:
        raise InvalidInput("identity must carry at least one identifier")
    return out


def _identifier(kind: str, raw: object) -> str:
    value = clean_text(raw, kind, 320)
    if kind == "email":
        value = normalise(value, "email")
        local, _, domain = value.partition("@")
        if not local or "." not in domain or " " in value:
            raise InvalidInput("not an e-mail address")
    elif kind == "phone":
        value = normalise(value, "phone")
    return value


#: At most this many order ids travel with one request.
MAX_ORDERS = 10_000


def parse_orders(orders: object) -> tuple[str, ...]:
    """Validated order ids a platform named with a request: 1-200 printable characters each, deduplicated."""
    if isinstance(orders, (str, bytes)) or not isinstance(orders, (list, tuple)):
        raise InvalidInput("orders must be a list of order ids")
    if len(orders) > MAX_ORDERS:
        raise InvalidInput(f"at most {MAX_ORDERS} order ids per request")
    out: dict[str, None] = {}
    for raw in orders:
        value = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
        if not isinstance(value, str) or not 0 < len(value.strip()) <= 200 or not value.isprintable():
            raise InvalidInput("an order id must be 1-200 printable characters")
        out[value.strip()] = None
    return tuple(out)


def parse_message(text: object, what: str = "a question or complaint") -> str:
    """The text of a question, complaint or answer: 1-4000 characters, line breaks kept, no control characters."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what} needs a message")
    clean = "".join(ch for ch in text.replace("\r\n", "\n") if ch in "\n\t" or ch.isprintable()).strip()
    if not clean or len(clean) > MESSAGE_CHARS:
        raise InvalidInput(f"{what} needs a message of 1-{MESSAGE_CHARS} characters")
    return clean


def parse_changes(changes: object) -> dict[str, str]:
    """Validated corrections for a rectify request: known field names to non-empty text."""
    if not isinstance(changes, Mapping) or not changes:
        raise InvalidInput("a rectify request needs the changes to make (field -> new value)")
    unknown = set(changes) - RECTIFIABLE
    if unknown:
        raise InvalidInput(f"fields that cannot be corrected here: {', '.join(sorted(map(str, unknown)))[:200]}")
    out = {str(k): clean_text(v, str(k), 320) for k, v in changes.items()}
    if "email" in out:
        out["email"] = parse_identity({"email": out["email"]})["email"]
    if "phone" in out:
        out["phone"] = parse_identity({"phone": out["phone"]})["phone"]
    return out
