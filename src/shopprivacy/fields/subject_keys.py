"""Per-subject data keys: random AES-256 keys wrapped by the keyring, destroyed to crypto-shred a subject."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ..errors import BadToken, InvalidInput, ShreddedError
from ..keys import Keyring
from ..store.audit import AuditLog
from ..store.engine import Store
from ..store.journal import ErasureJournal, advance
from .tables import subject_keys

_WRAP_AAD = b"spf1-subject-key\x00"


class SubjectKeys:
    """Creates, unwraps (with a short-lived cache) and shreds subject data keys in ``sp_subject_keys``.

    Unwrapped keys are cached for ``cache_seconds`` per process: a shred takes effect at once in the
    process that shreds, and within that many seconds in every other process. A key loaded while a shred in
    this process is under way (or not yet committed) is never cached: every shred moves a generation counter,
    at the shred and again at its commit, and a key is cached only when the counter did not move while it
    was loaded.

    With a ``journal``, every shred is first written to the erasure journal (kept outside this database), so a
    restored backup can be shredded again (:meth:`reshred`).
    """

    def __init__(self, store: Store, keyring: Keyring, audit: AuditLog, *, clock: Callable[[], datetime],
                 cache_seconds: float = 5.0, cache_size: int = 4096, journal: ErasureJournal | None = None) -> None:
        self.store, self.keyring, self.audit, self.clock = store, keyring, audit, clock
        self.journal = journal
        self.cache_seconds, self.cache_size = cache_seconds, cache_size
        self._cache: OrderedDict[str, tuple[float, AESGCM]] = OrderedDict()
        self._handles: dict[str, str] = {}
        self._lock = threading.Lock()
        self._generation = 0  # moved by every shred, at the shred and at its commit

    def key_subject(self, subject: str) -> str:
        """The keyed pseudonym the subject's key is stored under (``sp_subject_keys.subject``)."""
        return self._subject_id(subject)

    def _subject_id(self, subject: str) -> str:
        if not isinstance(subject, str) or not subject or len(subject) > 200 or "\x00" in subject:
            raise InvalidInput("subject must be an opaque id of 1-200 characters")
        return self.keyring.pseudonym(subject, namespace="subject-key", length=32)

    def _wrap(self, handle: str, key: bytes) -> tuple[str, str]:
        kid = self.keyring.primary_id
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keyring.subkey("fields", kid)).encrypt(nonce, key, _WRAP_AAD + handle.encode())
        return kid, base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def _unwrap_key(self, handle: str, kid: str, wrapped: str) -> bytes:
        """The subject's raw data key; a corrupted or foreign wrapped key raises BadToken."""
        try:
            raw = base64.urlsafe_b64decode(wrapped)
            key = AESGCM(self.keyring.subkey("fields", kid)).decrypt(raw[:12], raw[12:], _WRAP_AAD + handle.encode())
        except (InvalidTag, ValueError, TypeError):  # binascii.Error is a ValueError
            raise BadToken("a subject key does not unwrap (tampered key table or foreign keyset)") from None
        return key

    def _unwrap(self, handle: str, kid: str, wrapped: str) -> AESGCM:
        return AESGCM(self._unwrap_key(handle, kid, wrapped))

    def _remember(self, handle: str, aead: AESGCM, generation: int, sid: str | None = None) -> None:
        """Cache ``aead`` unless a shred happened since ``generation`` was read (its key may be the shredded one)."""
        with self._lock:
            if generation != self._generation:
                return
            if sid is not None:
                self._handles[sid] = handle
            self._cache[handle] = (time.monotonic() + self.cache_seconds, aead)
            self._cache.move_to_end(handle)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _forget(self, handle: str | None, sid: str | None) -> None:
        with self._lock:
            self._generation += 1
            if handle is None:
                self._cache.clear()
                self._handles.clear()
            else:
                self._cache.pop(handle, None)
                self._handles.pop(sid or "", None)

    @property
    def held(self) -> Mapping[str, tuple[float, AESGCM]]:
        """Handle -> (``time.monotonic()`` it expires at, cipher) of the keys this process holds: read it, never
        write it (what :meth:`cached` reads; the decrypt fast path reads it without a call)."""
        return self._cache

    def cached(self, handle: str) -> AESGCM | None:
        """The cipher of ``handle`` when this process holds it unexpired (the decrypt fast path), else None."""
        found = self._cache.get(handle)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        return None

    def for_encrypt(self, subject: str, conn: Connection | None = None) -> tuple[str, AESGCM]:
        """(handle, cipher) of the subject's key, creating the key on first use (in ``conn`` when given)."""
        sid = self._subject_id(subject)
        handle = self._handles.get(sid)
        if handle is not None:
            cached = self._cache.get(handle)
            if cached and cached[0] > time.monotonic():
                return handle, cached[1]
        generation = self._generation
        if conn is None:
            with self.store.begin() as own:
                handle, aead, created = self._load_or_create(own, sid)
        else:
            handle, aead, created = self._load_or_create(conn, sid)
        if not created or conn is None:
            # a key created inside the caller's transaction is cached only once that commits: if it rolled
            # back, a cached key would produce tokens for a key that does not exist
            self._remember(handle, aead, generation, sid)
        return handle, aead

    def _load_or_create(self, conn: Connection, sid: str) -> tuple[str, AESGCM, bool]:
        row = conn.execute(select(subject_keys).where(subject_keys.c.subject == sid)).first()
        if row is None:
            handle, key = _new_handle(), AESGCM.generate_key(bit_length=256)
            kid, wrapped = self._wrap(handle, key)
            conn.execute(subject_keys.insert().values(handle=handle, subject=sid, key_id=kid, wrapped_key=wrapped,
                                                      created_at=self.clock()))
            return handle, AESGCM(key), True
        if row.wrapped_key is None:
            raise ShreddedError("this subject was crypto-shredded; nothing can be encrypted for it again")
        return row.handle, self._unwrap(row.handle, row.key_id, row.wrapped_key), False

    def for_decrypt(self, handle: str, conn: Connection | None = None) -> AESGCM:
        cached = self.cached(handle)
        if cached is not None:
            return cached
        generation = self._generation
        query = select(subject_keys).where(subject_keys.c.handle == handle)
        if conn is None:
            with self.store.begin(write=False) as own:
                row = own.execute(query).first()
        else:
            row = conn.execute(query).first()
        if row is None:
            raise BadToken("the token names a subject key this store does not hold")
        if row.wrapped_key is None:
            raise ShreddedError("the value belonged to a crypto-shredded subject and cannot be read")
        aead = self._unwrap(handle, row.key_id, row.wrapped_key)
        self._remember(handle, aead, generation)
        return aead

    def shred(self, subject: str, *, actor: str = "system", conn: Connection | None = None) -> bool:
        """Destroy the subject's key (audited). True if a key was destroyed, False if none existed."""
        if conn is None:
            with self.store.begin() as own:
                return self.shred(subject, actor=actor, conn=own)
        sid = self._subject_id(subject)
        row = conn.execute(select(subject_keys.c.handle, subject_keys.c.wrapped_key)
                           .where(subject_keys.c.subject == sid)).first()
        if row is None or row.wrapped_key is None:
            return False
        # the journal first: a shred the journal holds can be applied again, one it lacks cannot
        seq = self.journal.append("shred", pseudonym=sid, key_id=row.handle) if self.journal else 0
        conn.execute(update(subject_keys).where(subject_keys.c.handle == row.handle)
                     .values(wrapped_key=None, key_id=None, shredded_at=self.clock()))
        if seq:
            advance(conn, seq, self.clock())
        self.audit.append(conn, actor=actor, action="fields.subject_shredded",
                          subject=self.keyring.pseudonym(subject), meta={"handle": row.handle})
        self._forget(row.handle, sid)
        # a key another thread loaded before this shred commits is not cached past the commit either
        self.store.after_commit(conn, f"subject-key.shred:{row.handle}", lambda: self._forget(row.handle, sid))
        return True

    def shred_all(self, conn: Connection, *, journaled: bool = True) -> int:
        """Destroy every subject's key in ``conn`` (a shop redaction; audited by the caller). Returns count."""
        seq = self.journal.append("shred_all", pseudonym="*") if self.journal and journaled else 0
        n = conn.execute(update(subject_keys).where(subject_keys.c.wrapped_key.is_not(None)).values(
            wrapped_key=None, key_id=None, shredded_at=self.clock())).rowcount
        if seq:
            advance(conn, seq, self.clock())
        self._forget(None, None)
        self.store.after_commit(conn, "subject-key.shred-all", lambda: self._forget(None, None))
        return int(n)

    def reshred(self, conn: Connection, *, pseudonym: str, handle: str, seq: int) -> bool:
        """Apply a journaled shred again in ``conn`` (after a restore): destroy the key ``handle`` and any key of
        the subject pseudonym ``pseudonym``; when neither is held, leave a tombstone so the subject's tokens read
        as shredded and no new key is made for it. Idempotent; not journaled again. True if anything changed."""
        now = self.clock()
        n = conn.execute(update(subject_keys).where(
            (subject_keys.c.handle == handle) | (subject_keys.c.subject == pseudonym),
            subject_keys.c.wrapped_key.is_not(None)).values(wrapped_key=None, key_id=None, shredded_at=now)).rowcount
        held = conn.execute(select(subject_keys.c.handle).where(
            (subject_keys.c.handle == handle) | (subject_keys.c.subject == pseudonym))).first()
        if held is None:
            conn.execute(subject_keys.insert().values(handle=handle, subject=pseudonym, key_id=None, wrapped_key=None,
                                                      created_at=now, shredded_at=now))
        self._forget(handle, pseudonym)
        self.store.after_commit(conn, f"subject-key.reshred:{handle}", lambda: self._forget(handle, pseudonym))
        if n or held is None:
            self.audit.append(conn, actor="journal", action="fields.subject_reshredded",
                              meta={"handle": handle, "journal_seq": seq})
        return bool(n) or held is None

    def rewrap(self, *, batch: int = 500) -> int:
        """Wrap every subject key that is not under the primary key with the primary key. Returns count."""
        done = 0
        while True:
            with self.store.begin() as conn:
                rows = conn.execute(select(subject_keys).where(subject_keys.c.wrapped_key.is_not(None),
                                                               subject_keys.c.key_id != self.keyring.primary_id)
                                    .limit(batch)).all()
                for row in rows:
                    key = self._unwrap_key(row.handle, row.key_id, row.wrapped_key)
                    kid, wrapped = self._wrap(row.handle, key)
                    conn.execute(update(subject_keys).where(subject_keys.c.handle == row.handle)
                                 .values(key_id=kid, wrapped_key=wrapped))
            done += len(rows)
            if len(rows) < batch:
                return done


def _new_handle() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
