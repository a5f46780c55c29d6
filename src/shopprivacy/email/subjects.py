"""The addresses e-mail consent holds: each as a subject pseudonym, a blind index and the address encrypted
under the subject's own key (``sp_email_subjects``); proof metadata; and forgetting an address on erasure."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ..errors import InvalidInput, ShreddedError, TokenError
from ..fields.blind_index import normalise
from ..keys import Keyring
from . import records
from .records import Meta
from .tables import EMAIL_ADDRESS_CONTEXT, email_subjects, subscriptions

if TYPE_CHECKING:
    from ..fields.api import Fields
    from ..store.engine import Store


class Subjects:
    """Who an address is to the SDK, and the records kept of it."""

    def __init__(self, *, store: Store, keyring: Keyring, fields: Fields, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._keyring = keyring
        self._fields = fields
        self._clock = clock

    def subject_of(self, address: str) -> str:
        """The opaque subject of an address: a keyed pseudonym, stable, never the address."""
        return self._keyring.pseudonym(normalise(address, "email"), namespace="email", length=24)

    def blind_index(self, address: str) -> str:
        """The blind index suppressions, proof and opt-in requests are keyed by."""
        return self._fields.blind_index(address, kind="email", bits=128)

    def register(self, conn: Connection, address: str, *, customer_ref: str | None = None) -> tuple[str, str]:
        """Record the address (encrypted under its subject key) in ``conn``; returns (subject, blind index)."""
        subject, bidx = self.subject_of(address), self.blind_index(address)
        if records.subject_row(conn, subject) is None:
            token = self._fields.encrypt(normalise(address, "email"), context=EMAIL_ADDRESS_CONTEXT,
                                         row=subject, subject=subject, conn=conn)
            records.ensure_subject(conn, subject=subject, bidx=bidx, address_token=token,
                                   customer_ref=customer_ref, now=self._clock())
        elif customer_ref is not None:
            records.ensure_subject(conn, subject=subject, bidx=bidx, address_token=None,
                                   customer_ref=customer_ref, now=self._clock())
        return subject, bidx

    def known(self, conn: Connection, subjects: Sequence[str]) -> dict[str, str | None]:
        """Those of ``subjects`` recorded already, each with its platform customer id (read only)."""
        found: dict[str, str | None] = {}
        wanted = list(dict.fromkeys(subjects))
        for i in range(0, len(wanted), 500):
            found.update((str(r[0]), r[1]) for r in conn.execute(
                select(email_subjects.c.subject, email_subjects.c.customer_ref)
                .where(email_subjects.c.subject.in_(wanted[i:i + 500]))))
        return found

    def ensure(self, addresses: Sequence[str], customer_refs: Sequence[str | None] | None = None) -> dict[str, str]:
        """The subject of each address, recording (in one write transaction for all) only those not recorded
        yet or whose platform customer id changes; when every one is recorded, nothing is written."""
        refs = list(customer_refs) if customer_refs is not None else [None] * len(addresses)
        if len(refs) != len(addresses):
            raise InvalidInput("customer_refs must give one entry (or None) per address")
        subjects = {address: self.subject_of(address) for address in addresses}
        with self._store.begin(write=False) as conn:
            known = self.known(conn, list(subjects.values()))
        todo = [(a, ref) for a, ref in zip(addresses, refs, strict=True)
                if subjects[a] not in known or (ref is not None and known[subjects[a]] != ref)]
        if todo:
            with self._store.begin() as conn:
                for address, ref in todo:
                    self.register(conn, address, customer_ref=ref)
        return subjects

    def address_of(self, row: Any) -> str | None:
        """The clear address of a subject row; None once erased (shredded or dropped)."""
        if row.address is None:
            return None
        try:
            return str(self._fields.decrypt(row.address, context=EMAIL_ADDRESS_CONTEXT, row=row.subject))
        except ShreddedError:
            return None

    def _readable(self, row: Any) -> str | None:
        """The clear address of a subject row; None when dropped, shredded or unreadable."""
        if row.address is None:
            return None
        try:
            value = self._fields.decrypt(row.address, context=EMAIL_ADDRESS_CONTEXT, row=row.subject)
        except TokenError:  # shredded, or a token that does not decrypt
            return None
        return value if isinstance(value, str) else None

    def address_for(self, subject: str) -> str | None:
        """The clear address of the subject pseudonym ``subject``; None when unknown, erased or unreadable."""
        with self._store.begin(write=False) as conn:
            row = records.subject_row(conn, subject)
        return None if row is None else self._readable(row)

    def held(self, *, until: datetime | None = None, batch: int = 1000) -> Iterator[list[tuple[str, bool]]]:
        """Every subject recorded (by ``until`` when given), in batches of (subject, whether its address is still
        held), in subject order. No address is decrypted."""
        q = select(email_subjects.c.subject, email_subjects.c.address.is_not(None)).order_by(email_subjects.c.subject)
        if until is not None:
            q = q.where(email_subjects.c.created_at <= until)
        after = ""
        while True:
            with self._store.begin(write=False) as conn:
                rows = conn.execute(q.where(email_subjects.c.subject > after).limit(batch)).all()
            if not rows:
                return
            yield [(str(r[0]), bool(r[1])) for r in rows]
            after = rows[-1][0]

    def subscribed(self, list_ids: Sequence[str], *, after: tuple[str, str] = ("", ""),
                   batch: int = 500) -> list[tuple[str, str, datetime]]:
        """(subject, list, when the state last changed) of subscriptions to ``list_ids``, in (subject, list) order
        after ``after``: one page. No address is decrypted."""
        s = subscriptions.c
        q = (select(s.subject, s.list_id, s.updated_at)
             .where(s.state == "subscribed", s.list_id.in_(list(list_ids)),
                    (s.subject > after[0]) | ((s.subject == after[0]) & (s.list_id > after[1])))
             .order_by(s.subject, s.list_id).limit(batch))
        with self._store.begin(write=False) as conn:
            return [(str(r[0]), str(r[1]), r[2]) for r in conn.execute(q)]

    def subscribed_at(self, subject: str) -> dict[str, datetime]:
        """The lists the subject is subscribed to, with when that state began."""
        with self._store.begin(write=False) as conn:
            return {list_id: row.updated_at for list_id, row in records.states(conn, subject).items()
                    if row.state == "subscribed"}

    def with_address(self, subjects: Sequence[str]) -> set[str]:
        """Those of ``subjects`` whose address the SDK still holds (encrypted): the ones it can mail."""
        found: set[str] = set()
        wanted = list(dict.fromkeys(subjects))
        for i in range(0, len(wanted), 500):
            with self._store.begin(write=False) as conn:
                found.update(str(r[0]) for r in conn.execute(
                    select(email_subjects.c.subject).where(email_subjects.c.subject.in_(wanted[i:i + 500]),
                                                           email_subjects.c.address.is_not(None))))
        return found

    def of_customer(self, customer_refs: Sequence[str]) -> list[tuple[str, str | None]]:
        """(subject, address or None once erased) of every address recorded for a platform customer under any of
        ``customer_refs``, in subject order."""
        with self._store.begin(write=False) as conn:
            rows = conn.execute(select(email_subjects.c.subject, email_subjects.c.address)
                                .where(email_subjects.c.customer_ref.in_(list(customer_refs)))
                                .order_by(email_subjects.c.subject)).all()
        return [(row.subject, self._readable(row)) for row in rows]

    def on_file(self, address: str) -> dict[str, Any] | None:
        """What is recorded of ``address`` (for an export): the address as stored (``[crypto-shredded]`` once
        erased), its platform customer id and when it was first seen; None when it was never recorded."""
        with self._store.begin(write=False) as conn:
            row = conn.execute(select(email_subjects)
                               .where(email_subjects.c.subject == self.subject_of(address))).first()
        if row is None:
            return None
        return {"address": self._readable(row) or "[crypto-shredded]", "platform_customer_id": row.customer_ref,
                "first_seen": row.created_at.isoformat()}

    def meta(self, *, source: str = "web", ip: str | None = None, user_agent: str | None = None,
             text_version: str | None = None) -> Meta:
        """Proof metadata with IP address and user agent as keyed hashes."""
        ring = self._keyring
        return Meta(source=source, text_version=text_version,
                    ip_hash=ring.keyed_hash(ip, namespace="ip") if ip else None,
                    ua_hash=ring.keyed_hash(user_agent[:500], namespace="user-agent") if user_agent else None)

    def history(self, address: str) -> list[dict[str, Any]]:
        """Every opt-in, confirmation, opt-out and preference change for ``address``, oldest first."""
        with self._store.begin(write=False) as conn:
            return records.history(conn, self.blind_index(address))

    @staticmethod
    def forget(conn: Connection, subject: str) -> int:
        """Erasure: drop the encrypted address and platform id of ``subject`` in ``conn``; the suppression
        (blind index) and the proof stay. Returns the rows changed (0 or 1)."""
        return int(conn.execute(update(email_subjects).where(email_subjects.c.subject == subject)
                                .values(address=None, customer_ref=None)).rowcount)

    @staticmethod
    def forget_all(conn: Connection) -> int:
        """Shop redaction: drop every encrypted address and platform id in ``conn``; suppressions and proof
        stay. Returns the rows changed."""
        return int(conn.execute(update(email_subjects).values(address=None, customer_ref=None)).rowcount)
