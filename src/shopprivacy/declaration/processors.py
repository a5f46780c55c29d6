"""``sp.processors``: may this person's data go to this recipient for this purpose? The declaration must list
the recipient for the purpose; the person must not have restricted processing (GDPR Art. 18), objected to
marketing or profiling (Art. 21) or opted out of sale/sharing (CCPA/CPRA, or a browser's Global Privacy
Control); and a purpose based on consent needs that consent. Each share can be recorded, and the person's
export lists the recipients of their data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from ..errors import InvalidInput
from ..hints import closest
from ..keys import Keyring
from ..store.engine import Store
from .model import Declaration, Purpose
from .tables import shares

if TYPE_CHECKING:
    from ..consent.state import ConsentState
    from ..email.service import Email
    from ..store.restrictions import SubjectRestrictions

#: Banner categories whose sharing is a "sale or sharing" that an opt-out or GPC refuses.
SALE_CATEGORIES = frozenset({"sale_of_data", "marketing"})


@dataclass(frozen=True)
class ShareDecision:
    """``allowed`` and, either way, the ``reason`` (for logs and audits: it names no personal data)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


class Processors:
    """Checks and records shares with the recipients of the declaration."""

    def __init__(self, declaration: Callable[[], Declaration], *, store: Store, keyring: Keyring,
                 restrictions: Callable[[], SubjectRestrictions], email: Callable[[], Email],
                 clock: Callable[[], datetime]) -> None:
        self._decl, self.store, self.keyring = declaration, store, keyring
        self._restrictions, self._email, self.clock = restrictions, email, clock

    def _lookup(self, processor: str, purpose: str) -> tuple[Declaration, Purpose]:
        decl = self._decl()
        for name, known in (("processor", decl.processors), ("purpose", decl.purposes)):
            key = processor if name == "processor" else purpose
            if key not in known:
                near = closest(key, list(known))
                raise InvalidInput(f"{name} {key[:40]!r} is not in the declaration"
                                   + (f"; did you mean {near!r}?" if near else ""))
        return decl, decl.purposes[purpose]

    def may_share(self, processor: str, subject: Mapping[str, str], purpose: str, *,
                  consent: ConsentState | None = None, gpc: bool = False) -> ShareDecision:
        """Whether ``subject`` (``{"email": ...}``, ``{"customer_id": ...}``, ``{"phone": ...}``) may be shared
        with ``processor`` for ``purpose``. ``consent``: the visitor's consent state, for purposes based on a banner
        category; ``gpc``: the request carried ``Sec-GPC: 1``. Unknown ids raise InvalidInput."""
        decl, aim = self._lookup(processor, purpose)
        if purpose not in decl.processors[processor].purposes:
            return ShareDecision(False, f"the declaration does not list {processor} for {purpose}")
        restrictions = self._restrictions()
        if restrictions.blocks(subject, "processor_export"):
            return ShareDecision(False, "the person restricted processing (GDPR Art. 18)")
        category = aim.consent_category
        if category in SALE_CATEGORIES or aim.consent_list:
            if gpc:
                return ShareDecision(False, "Global Privacy Control: no sale or sharing")
            if restrictions.blocks(subject, "sale"):
                return ShareDecision(False, "the person opted out of the sale and sharing of their data")
            if restrictions.blocks(subject, "marketing"):
                return ShareDecision(False, "the person objected to direct marketing (GDPR Art. 21)")
        if aim.legal_basis == "consent":
            if aim.consent_list:
                address = subject.get("email")
                if not address or self._email().state(address, aim.consent_list) != "subscribed":
                    return ShareDecision(False, f"no opt-in to the list {aim.consent_list}")
            elif category is not None and (consent is None or not consent.allows(category)):
                return ShareDecision(False, f"no consent to {category}")
        return ShareDecision(True, f"declared for {purpose}; {aim.legal_basis}")

    def _key(self, subject: Mapping[str, str]) -> str:
        for kind in ("email", "customer_id", "phone"):
            value = subject.get(kind)
            if isinstance(value, str) and value.strip():
                return self.keyring.pseudonym(f"{kind}\x00{value.strip().lower()}", namespace="share", length=32)
        raise InvalidInput("a subject names an email, customer_id or phone")

    def record_share(self, processor: str, subject: Mapping[str, str], purpose: str, *,
                     conn: Connection | None = None) -> None:
        """Record that ``subject``'s data went to ``processor`` for ``purpose`` (listed in their export)."""
        self._lookup(processor, purpose)
        row = {"subject": self._key(subject), "processor": processor, "purpose": purpose, "at": self.clock()}
        if conn is not None:
            conn.execute(insert(shares).values(**row))
            return
        with self.store.begin() as own:
            own.execute(insert(shares).values(**row))

    def recipients(self, subject: Mapping[str, str]) -> list[dict[str, Any]]:
        """The recipients ``subject``'s data was shared with: name, country, purpose, first and last time."""
        keys = []
        for kind in ("email", "customer_id", "phone"):
            if subject.get(kind):
                keys.append(self._key({kind: str(subject[kind])}))
        if not keys:
            return []
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(shares.c.processor, shares.c.purpose, shares.c.at)
                                .where(shares.c.subject.in_(keys)).order_by(shares.c.at)).all()
        decl = self._decl()
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            proc = decl.processors.get(r.processor)
            item = out.setdefault((r.processor, r.purpose), {
                "recipient": proc.name if proc else r.processor, "country": proc.country if proc else None,
                "purpose": r.purpose, "first": r.at.isoformat(), "times": 0})
            item["last"], item["times"] = r.at.isoformat(), item["times"] + 1
        return list(out.values())


class RecipientsSource:
    """The recipients of a person's data as a rights source (in their export; the record itself is kept as
    accountability and holds only a pseudonym)."""

    name = "recipients"

    def __init__(self, processors: Processors) -> None:
        self.processors = processors

    @staticmethod
    def _identity(subject: Any) -> dict[str, str]:
        return {k: v for k in ("email", "customer_id", "phone") if (v := getattr(subject, k, None))}

    def find(self, subject: Any) -> int:
        return len(self.processors.recipients(self._identity(subject)))

    def export(self, subject: Any) -> Mapping[str, Any]:
        found = self.processors.recipients(self._identity(subject))
        return {"recipients": found} if found else {}

    def rectify(self, subject: Any, changes: Mapping[str, str]) -> Any:
        from ..rights.model import SourceReceipt

        return SourceReceipt(self.name)

    def erase(self, subject: Any) -> Any:
        from ..rights.model import FieldOutcome, SourceReceipt

        n = self.find(subject)
        return SourceReceipt(self.name, (FieldOutcome("recipients", "retained" if n else "not_held",
                                                      "record of disclosures kept by pseudonym (GDPR Art. 5(2), 19)",
                                                      n),))
