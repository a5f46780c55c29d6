"""E-mail consent: token sign+verify vs raw itsdangerous (target <= 1.3x); RFC 8058 one-click POST served by a real
WSGI server (gunicorn, 1 worker x 4 threads, 8 concurrent keep-alive clients) vs a route of the same app and
server that commits one INSERT through the same store before its 200 (target >= 70 % of its rate), on SQLite and,
when ``SHOPPRIVACY_BENCH_POSTGRES_URL`` is set, PostgreSQL. Every one-click POST carries a link of its own (a
repeated one would find nothing left to write). Rates are medians of interleaved rounds.

Set ``SHOPPRIVACY_BENCH_PROFILE=1`` to print a cProfile of the one-click transaction as well.
"""

from __future__ import annotations

import asyncio
import cProfile
import hashlib
import io
import json
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _oneclick_app import SCRATCH
from _scale import database
from _util import per_call, ratio_line
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.tokens import TokenSigner

HERE = Path(__file__).parent
N = 400  # requests per batch
ROUNDS = 5
CONCURRENCY = 8
BODY = b"List-Unsubscribe=One-Click"


def _tokens() -> None:
    sp = ShopPrivacy(Settings(database_url="sqlite://", keyset=Keyset.generate().to_json()))
    signer = TokenSigner(sp.keyring, "unsubscribe")
    raw = URLSafeTimedSerializer(sp.keyring.subkeys("tokens"), salt="raw",
                                 signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256})
    payload = {"s": "p_abcdefghijklmnopqrstuvwx", "l": "newsletter"}
    t_ours, t_raw = signer.sign(payload), raw.dumps(payload)
    ours = per_call(lambda: signer.verify(signer.sign(payload), max_age_seconds=86400), number=5000)
    base = per_call(lambda: raw.loads(raw.dumps(payload), max_age=86400), number=5000)
    assert signer.verify(t_ours, max_age_seconds=60) == raw.loads(t_raw)
    print(ratio_line("token sign+verify vs raw URLSafeTimedSerializer", ours, base, target="<= 1.3x"))
    sp.close()


async def _drive(port: int, paths: list[str]) -> float:
    """Requests per second of POSTing one-click bodies to ``paths`` over CONCURRENCY keep-alive connections."""
    todo = iter(paths)

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for path in todo:
            writer.write(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded"
                         f"\r\nContent-Length: {len(BODY)}\r\n\r\n".encode() + BODY)
            head = await reader.readuntil(b"\r\n\r\n")
            if head[9:12] != b"200":
                raise RuntimeError(f"{path[:40]}: {head[:60]!r}")
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return len(paths) / (time.perf_counter() - start)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _gunicorn(config: dict[str, object], tmp: Path) -> Iterator[int]:
    path = tmp / "config.json"
    path.write_text(json.dumps(config))
    port = _free_port()
    env = {**os.environ, "BENCH_ONECLICK_CONFIG": str(path),
           "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path[1:]])}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-k", "gthread",
                             "--keep-alive", "30", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                             "_oneclick_app:create_app()"], cwd=HERE, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _statements(sp: ShopPrivacy, path: str) -> int:
    """Statements one one-click runs (BEGIN and COMMIT included), counted on the parent's own engine (psycopg's
    BEGIN, sent by the store before the first statement, is not among them on PostgreSQL: add one)."""
    seen: list[str] = []

    def count(*_args: object) -> None:
        seen.append("x")

    engine = sp.store.engine
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", count)
    event.listen(engine, "begin", count)
    try:
        sp.email.suppression.unsubscribe(path.split("t=", 1)[1])
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "commit", count)
        event.remove(engine, "begin", count)
    return len(seen)


def _one_click(kind: str) -> None:
    tmp = Path(tempfile.mkdtemp())
    with database(kind.lower()) as url:
        config = {"SHOPPRIVACY_DATABASE_URL": url, "SHOPPRIVACY_KEYSET": Keyset.generate().to_json(),
                  "SHOPPRIVACY_PUBLIC_BASE_URL": "http://localhost",
                  "SHOPPRIVACY_PLATFORM_OPTIONS": {"database_url": f"sqlite:///{tmp / 'shop.db'}"}}
        sp = ShopPrivacy(Settings(database_url=url, keyset=str(config["SHOPPRIVACY_KEYSET"]),
                                  public_base_url="http://localhost",
                                  platform_options={"database_url": f"sqlite:///{tmp / 'shop.db'}"}))
        sp.store.upgrade()
        SCRATCH.metadata.create_all(sp.store.engine)
        total = N * (ROUNDS + 1) + 40
        headers = sp.email.headers_for_many([f"user{i}@example.com" for i in range(total)], "newsletter")
        links = [h["List-Unsubscribe"][1:-1].replace("http://localhost", "") for h in headers.values()]
        _statements(sp, links.pop())  # the first append of a process reads and checks the audit head
        statements = _statements(sp, links.pop())  # then: one conditional UPDATE of the head
        ours_rates, durable_rates = [], []
        with _gunicorn(config, tmp) as port:
            asyncio.run(_drive(port, links[:40]))  # warm up: connections, route map, catalogues
            asyncio.run(_drive(port, [f"/durable?t=w{i}" for i in range(40)]))
            for r in range(ROUNDS):  # interleaved rounds: background load falls on both alike
                batch = links[40 + r * N: 40 + (r + 1) * N]
                ours_rates.append(asyncio.run(_drive(port, batch)))
                durable_rates.append(asyncio.run(_drive(port, [f"/durable?t={r}-{i}" for i in range(N)])))
        assert sp.email.is_suppressed("user40@example.com", "newsletter")
        ours, durable = statistics.median(ours_rates), statistics.median(durable_rates)
        ratio = ours / durable
        print(f"one-click POST via gunicorn (1 worker x 4 threads, {CONCURRENCY} clients) on {kind}: ours "
              f"{ours:,.0f}/s, a route committing one INSERT in the same server {durable:,.0f}/s, ratio {ratio:.0%} "
              f"(target >= 70 %: {'met' if ratio >= 0.70 else 'NOT MET'})")
        rounds = ", ".join(f"{x:,.0f}" for x in ours_rates), ", ".join(f"{x:,.0f}" for x in durable_rates)
        print(f"   {statements} statements per one-click on {kind} (SQLAlchemy events: begin, statements, commit); "
              "rounds/s: ours "
              f"{rounds[0]}; durable INSERT {rounds[1]}")
        if os.environ.get("SHOPPRIVACY_BENCH_PROFILE"):
            prof = cProfile.Profile()
            prof.enable()
            for path in links[40 + ROUNDS * N:]:
                sp.email.suppression.unsubscribe(path.split("t=", 1)[1])
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
            print(out.getvalue())
        sp.close()


def main() -> None:
    _tokens()
    _one_click("SQLite")
    if os.environ.get("SHOPPRIVACY_BENCH_POSTGRES_URL"):
        _one_click("PostgreSQL")
    else:
        print("one-click on PostgreSQL: skipped (SHOPPRIVACY_BENCH_POSTGRES_URL is not set)")


if __name__ == "__main__":
    main()
