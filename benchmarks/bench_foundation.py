"""Foundation: audit append rate, outbox claim+complete rate, cached HKDF subkeys.

Baselines measured in the same run: a plain INSERT of the same row (audit), a plain INSERT + UPDATE per row
(outbox), and an uncached HKDF derivation (subkeys).
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from pathlib import Path

from _util import per_call, ratio_line
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import JSON, BigInteger, Column, MetaData, String, Table, create_engine, insert, text, update

from shopprivacy.keys import Keyring, Keyset
from shopprivacy.settings import OutboxSettings
from shopprivacy.store import AuditLog, Outbox, Store

N_AUDIT = 2000
N_OUTBOX = 2000


def _urls() -> list[tuple[str, str, object]]:
    tmp = Path(tempfile.mkdtemp())
    urls: list[tuple[str, str, object]] = [("sqlite", f"sqlite:///{tmp / 'bench.db'}", None)]
    pg = os.environ.get("SHOPPRIVACY_BENCH_POSTGRES_URL")
    if pg:
        schema = "bench_" + secrets.token_hex(4)
        admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        urls.append(("postgres", f"{pg}?options=-csearch_path%3D{schema}", (admin, schema)))
    return urls


def _drop(cleanup: object) -> None:
    if cleanup is not None:
        admin, schema = cleanup  # type: ignore[misc]
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def bench_audit(name: str, url: str, ring: Keyring) -> None:
    store = Store.from_url(url)
    store.upgrade()
    audit = AuditLog(store, ring)
    raw = Table("bench_raw_audit", MetaData(), Column("seq", BigInteger, primary_key=True),
                Column("actor", String(120)), Column("action", String(120)), Column("subject", String(120)),
                Column("fields", JSON), Column("mac", String(64)))
    raw.metadata.create_all(store.engine)
    start = time.perf_counter()
    for i in range(N_AUDIT):
        with store.begin() as conn:
            conn.execute(insert(raw).values(seq=i, actor="bench", action="x", subject="p_x", fields=["email"],
                                            mac="0" * 64))
    base = (time.perf_counter() - start) / N_AUDIT
    start = time.perf_counter()
    for _ in range(N_AUDIT):
        audit.record(actor="bench", action="x", subject="p_x", fields=["email"])
    ours = (time.perf_counter() - start) / N_AUDIT
    print(f"audit append on {name}: {1 / ours:,.0f} entries/s (plain insert {1 / base:,.0f}/s)")
    print("   " + ratio_line(f"audit append per entry on {name}", ours, base))
    start = time.perf_counter()
    audit.verify()
    print(f"   audit verify on {name}: {N_AUDIT / (time.perf_counter() - start):,.0f} entries/s")
    store.dispose()


def bench_outbox(name: str, url: str) -> None:
    store = Store.from_url(url)
    store.upgrade()
    outbox = Outbox(store, OutboxSettings())
    outbox.register("bench", lambda d: None)
    with store.begin() as conn:
        for i in range(N_OUTBOX):
            outbox.enqueue(conn, "bench", {"n": i}, idempotency_key=f"bench-{i}")
    start = time.perf_counter()
    report = outbox.deliver_due()
    ours = (time.perf_counter() - start) / N_OUTBOX
    assert report.delivered == N_OUTBOX
    raw = Table("bench_raw_queue", MetaData(), Column("id", BigInteger, primary_key=True),
                Column("status", String(16)))
    raw.metadata.create_all(store.engine)
    with store.begin() as conn:
        conn.execute(insert(raw), [{"id": i, "status": "pending"} for i in range(N_OUTBOX)])
    start = time.perf_counter()
    for i in range(N_OUTBOX):  # baseline: settle each row in its own transaction, no claiming
        with store.begin() as conn:
            conn.execute(update(raw).where(raw.c.id == i).values(status="done"))
    base = (time.perf_counter() - start) / N_OUTBOX
    print(f"outbox claim+complete on {name}: {1 / ours:,.0f} rows/s (plain update per row {1 / base:,.0f}/s)")
    print("   " + ratio_line(f"outbox per row on {name}", ours, base))
    store.dispose()


def bench_subkeys() -> None:
    ring = Keyring(Keyset.generate())
    ring.subkey("fields")
    master = ring.keyset.keys[0].secret

    def raw() -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"s", info=b"i").derive(master)

    ours = per_call(lambda: ring.subkey("fields"), number=200_000)
    base = per_call(raw, number=20_000)
    print(ratio_line("cached subkey vs fresh HKDF derivation", ours, base, target="per call <= 1 µs"))


def main() -> None:
    ring = Keyring(Keyset.generate())
    bench_subkeys()
    for name, url, cleanup in _urls():
        try:
            bench_audit(name, url, ring)
            bench_outbox(name, url)
        finally:
            _drop(cleanup)


if __name__ == "__main__":
    main()
