"""Subject restrictions: the state that a rights request (restrict, object, opt out of sale/sharing) leaves on a
person, read by every part of the SDK that must then skip them.

One row per identifier blind index (e-mail, phone, platform customer id; never a value in clear) and effect:

* ``restrict`` (GDPR Art. 18): the data is only stored. Renewals, marketing, profiling, sale and exports to
  processors skip the person; retention keeps their data (rules with a ``restricted`` exemption) until an
  operator lifts the restriction (``sp.rights.lift_restriction``).
* ``object`` (Art. 21(2)-(3)): no direct marketing on any list, no profiling.
* ``opt_out_sale`` (CCPA/CPRA): no sale or sharing; a signed-in customer's consent counts ``sale_of_data`` as
  denied.

Rows are kept when lifted (``lifted_at``), so the state stays provable. It lives in the foundation because
renewals, e-mail, retention and the integrations read it while only ``sp.rights`` writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, Index, String, Table, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..errors import InvalidInput, ProcessingRestricted
from .schema import metadata
from .types import UTCDateTime

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from .engine import Store

#: Effects a request can leave on a subject.
EFFECTS: tuple[str, ...] = ("restrict", "object", "opt_out_sale")
#: Which effects stop each purpose. Retention is not a purpose here: a restricted subject's data is kept.
PURPOSES: Mapping[str, frozenset[str]] = {
    "renewal": frozenset({"restrict"}),
    "marketing": frozenset({"restrict", "object"}),
    "profiling": frozenset({"restrict", "object"}),
    "processor_export": frozenset({"restrict"}),
    "sale": frozenset({"restrict", "opt_out_sale"}),
    "retention": frozenset({"restrict"}),
}
#: Cookie-consent categories denied to a signed-in customer by each effect.
CONSENT_DENIES: Mapping[str, frozenset[str]] = {
    "restrict": frozenset({"analytics", "marketing", "preferences", "sale_of_data"}),
    "object": frozenset({"marketing"}),
    "opt_out_sale": frozenset({"sale_of_data"}),
}
#: Identifier kinds, as the blind index names them.
IDENTIFIER_KINDS: tuple[str, ...] = ("email", "phone", "customer_id")
#: ``index(kind, value)``: the blind index of an identifier (``sp.fields.blind_index`` with the kind's form).
Index_ = Callable[[str, str], str]

subject_restrictions = Table(
    "sp_subject_restrictions",
    metadata,
    Column("kind", String(16), primary_key=True),  # email | phone | customer_id
    Column("bidx", String(64), primary_key=True),
    Column("effect", String(16), primary_key=True),  # restrict | object | opt_out_sale
    Column("request_id", String(32), nullable=True),  # the rights request that placed it (latest)
    Column("placed_at", UTCDateTime, nullable=False),
    Column("lifted_at", UTCDateTime, nullable=True),
    Column("lift_reason", String(200), nullable=True),
    Index("ix_sp_subject_restrictions_effect", "effect", "lifted_at"),
)


def customer_refs(customer_id: str) -> list[str]:
    """The forms a platform customer id is matched in: as given and, for a GraphQL gid, its numeric tail."""
    refs = [customer_id]
    if customer_id.startswith("gid://"):
        tail = customer_id.rsplit("/", 1)[-1]
        if tail and tail != customer_id:
            refs.append(tail)
    return refs


def _purpose(purpose: str) -> frozenset[str]:
    effects = PURPOSES.get(purpose)
    if effects is None:
        raise InvalidInput(f"unknown purpose {purpose!r} (known: {', '.join(PURPOSES)})")
    return effects


class SubjectRestrictions:
    """Read and write the restriction state. ``index`` computes blind indexes (wired by the facade)."""

    def __init__(self, store: Store, index: Index_) -> None:
        self.store, self._index = store, index

    def keys(self, identity: Mapping[str, str | None]) -> list[tuple[str, str]]:
        """(kind, blind index) of every usable identifier in ``identity`` (unknown keys are refused)."""
        unknown = set(identity) - set(IDENTIFIER_KINDS)
        if unknown:
            raise InvalidInput(f"unknown identity keys: {', '.join(sorted(map(str, unknown)))[:200]} "
                               f"(known: {', '.join(IDENTIFIER_KINDS)})")
        out: list[tuple[str, str]] = []
        for kind in IDENTIFIER_KINDS:
            value = identity.get(kind)
            if not isinstance(value, str) or not value.strip():
                continue
            values = customer_refs(value.strip()) if kind == "customer_id" else [value]
            out += [(kind, self._index(kind, v)) for v in values]
        return list(dict.fromkeys(out))

    # -- writing (sp.rights only) -----------------------------------------------------------------------
    def place(self, conn: Connection, keys: Iterable[tuple[str, str]], effect: str, *, request_id: str | None,
              now: datetime) -> int:
        """Place ``effect`` on every key in ``conn``'s transaction (again: the row is live and names the latest
        request). Returns how many keys it holds for."""
        if effect not in EFFECTS:
            raise InvalidInput(f"effect must be one of {', '.join(EFFECTS)}")
        t, n = subject_restrictions, 0
        for kind, bidx in keys:
            ins = pg_insert(t) if conn.dialect.name == "postgresql" else sqlite_insert(t)
            conn.execute(ins.values(kind=kind, bidx=bidx, effect=effect, request_id=request_id, placed_at=now)
                         .on_conflict_do_update(index_elements=[t.c.kind, t.c.bidx, t.c.effect],
                                                set_={"request_id": request_id, "placed_at": now,
                                                      "lifted_at": None, "lift_reason": None}))
            n += 1
        return n

    def lift(self, conn: Connection, keys: Iterable[tuple[str, str]], effect: str, *, reason: str,
             now: datetime) -> list[str]:
        """Lift ``effect`` from the keys; the ids of the requests that had placed what was lifted."""
        t, requests = subject_restrictions, []
        for kind, bidx in keys:
            where = and_(t.c.kind == kind, t.c.bidx == bidx, t.c.effect == effect, t.c.lifted_at.is_(None))
            row = conn.execute(select(t.c.request_id).where(where)).first()
            if row is None:
                continue
            conn.execute(update(t).where(where).values(lifted_at=now, lift_reason=reason[:200]))
            if row.request_id:
                requests.append(str(row.request_id))
        return list(dict.fromkeys(requests))

    # -- reading ----------------------------------------------------------------------------------------
    def effects(self, identity: Mapping[str, str | None], *, conn: Connection | None = None) -> frozenset[str]:
        """The live effects on anyone of ``identity``'s identifiers."""
        keys = self.keys(identity)
        if not keys:
            return frozenset()
        t = subject_restrictions
        q = select(t.c.effect).where(t.c.lifted_at.is_(None),
                                     or_(*(and_(t.c.kind == k, t.c.bidx == b) for k, b in keys)))
        if conn is not None:
            return frozenset(conn.execute(q).scalars())
        with self.store.begin(write=False) as c:
            return frozenset(c.execute(q).scalars())

    def blocks(self, identity: Mapping[str, str | None], purpose: str) -> bool:
        """Whether ``purpose`` (``renewal``, ``marketing``, ``profiling``, ``processor_export``, ``sale``,
        ``retention``: data kept) must skip this person."""
        return bool(self.effects(identity) & _purpose(purpose))

    def check(self, identity: Mapping[str, str | None], purpose: str) -> None:
        """Raise :class:`~shopprivacy.errors.ProcessingRestricted` when ``purpose`` must skip this person
        (e.g. before sending a customer's data to a processor: ``check(..., "processor_export")``)."""
        found = self.effects(identity) & _purpose(purpose)
        if found:
            raise ProcessingRestricted(f"the person's rights request ({', '.join(sorted(found))}) excludes "
                                       f"{purpose}; skip them")

    def consent_denials(self, identity: Mapping[str, str | None]) -> frozenset[str]:
        """Cookie-consent categories denied to this signed-in customer whatever the browser's cookie says."""
        out: set[str] = set()
        for effect in self.effects(identity):
            out |= CONSENT_DENIES[effect]
        return frozenset(out)

    def blocked_index(self, purpose: str) -> set[tuple[str, str]]:
        """Every (kind, blind index) that ``purpose`` skips now: read once by a batch (a renewal run, a
        retention sweep), then matched with :meth:`keys` in memory."""
        effects = _purpose(purpose)
        t = subject_restrictions
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(t.c.kind, t.c.bidx).where(t.c.lifted_at.is_(None),
                                                                 t.c.effect.in_(sorted(effects)))).all()
        return {(r.kind, r.bidx) for r in rows}

    def matches(self, blocked: set[tuple[str, str]], identity: Mapping[str, str | None]) -> bool:
        """Whether ``identity`` is among ``blocked`` (from :meth:`blocked_index`)."""
        return bool(blocked) and any(k in blocked for k in self.keys(identity))


__all__ = ["CONSENT_DENIES", "EFFECTS", "PURPOSES", "SubjectRestrictions", "customer_refs", "subject_restrictions"]
