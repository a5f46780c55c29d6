"""E-mail consent: token sign+verify vs raw itsdangerous (target <= 1.3x); RFC 8058 one-click POST through the
Flask test client (``ShopPrivacyFlask`` on SQLite) vs a bare Flask route answering 200 through the same test
client (target >= 70 % of its rate).

Set ``SHOPPRIVACY_BENCH_PROFILE=1`` to print a cProfile of the one-click path as well.
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import os
import pstats
import tempfile
import time
from pathlib import Path

import flask
from _util import per_call, ratio_line
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.integrations.flask import ShopPrivacyFlask
from shopprivacy.tokens import TokenSigner

N = 400
ROUNDS = 3
SCRATCH = Table("bench_durable", MetaData(), Column("id", Integer, primary_key=True), Column("t", String(40)))


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


def _app(tmp: Path) -> flask.Flask:
    app = flask.Flask("bench_email")
    app.config.update(
        SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp / 'sp.db'}",
        SHOPPRIVACY_KEYSET=Keyset.generate().to_json(),
        SHOPPRIVACY_PUBLIC_BASE_URL="http://localhost",
        SHOPPRIVACY_PLATFORM_OPTIONS={"database_url": f"sqlite:///{tmp / 'shop.db'}"},
    )
    ShopPrivacyFlask(app)

    @app.post("/bare")
    def bare() -> tuple[str, int]:
        return "ok", 200

    @app.post("/durable")
    def durable() -> tuple[str, int]:  # the floor of any durable answer: one INSERT committed before the 200
        sp = ShopPrivacyFlask.sp(app)
        with sp.store.begin() as conn:
            conn.execute(insert(SCRATCH).values(t=flask.request.args.get("t", "")[:40]))
        return "ok", 200

    return app


def _rate(post: object, paths: list[str]) -> float:
    """Requests per second of ``post(path)`` over ``paths`` (one request each)."""
    assert callable(post)
    start = time.perf_counter()
    for path in paths:
        post(path)
    return len(paths) / (time.perf_counter() - start)


def _one_click() -> None:
    tmp = Path(tempfile.mkdtemp())
    app = _app(tmp)
    sp = ShopPrivacyFlask.sp(app)
    sp.store.upgrade()
    SCRATCH.metadata.create_all(sp.store.engine)
    client = app.test_client(use_cookies=False)
    body = {"List-Unsubscribe": "One-Click"}

    def ours(path: str) -> None:
        resp = client.post(path, data=body)
        assert resp.status_code == 200, resp.status_code

    def bare(path: str) -> None:
        assert client.post(path, data=body).status_code == 200

    plain = flask.Flask("bench_plain")
    plain.add_url_rule("/bare", "bare", lambda: ("ok", 200), methods=["POST"])
    plain_client = plain.test_client(use_cookies=False)

    def bare_plain(path: str) -> None:
        assert plain_client.post(path, data=body).status_code == 200

    links = [sp.email.unsubscribe_url(f"user{i}@example.com", "newsletter").replace("http://localhost", "")
             for i in range(N * (ROUNDS + 1))]
    for path in links[:20]:  # warm up: connections, route map, catalogues
        ours(path)
    best_ours = best_bare = best_plain = best_durable = 0.0
    for r in range(ROUNDS):  # interleaved rounds, best of each: fair against background noise
        batch = links[20 + r * N: 20 + (r + 1) * N]
        best_ours = max(best_ours, _rate(ours, batch))
        best_bare = max(best_bare, _rate(bare, ["/bare"] * N))
        best_plain = max(best_plain, _rate(bare_plain, ["/bare"] * N))
        best_durable = max(best_durable, _rate(bare, [f"/durable?t={i}" for i in range(N)]))
    assert sp.email.is_suppressed("user20@example.com", "newsletter")
    print(f"one-click POST through the Flask test client on SQLite: ours {best_ours:,.0f}/s, bare Flask route "
          f"(same app and client) {best_bare:,.0f}/s, ratio {best_ours / best_bare:.0%} (target >= 70 %)")
    print(f"   vs a bare route on a plain Flask app without the extension: {best_plain:,.0f}/s, "
          f"ratio {best_ours / best_plain:.0%}")
    print(f"   vs a route committing one INSERT durably (synchronous=FULL) on the same app: {best_durable:,.0f}/s, "
          f"ratio {best_ours / best_durable:.0%}: the ceiling for any durable answer is "
          f"{best_durable / best_bare:.0%} of the bare route")
    per_request = 1 / best_ours - 1 / best_bare
    print(f"   our handler adds {per_request * 1e6:,.0f} µs per request: token check, one durable transaction "
          "(state, suppression, proof, audit chain, outbox row) committed with synchronous=FULL before the 200")

    if os.environ.get("SHOPPRIVACY_BENCH_PROFILE"):
        prof = cProfile.Profile()
        prof.enable()
        for path in links[20 + ROUNDS * N:]:
            ours(path)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue())
    sp.close()


def main() -> None:
    _tokens()
    _one_click()


if __name__ == "__main__":
    main()
