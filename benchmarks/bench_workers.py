"""Several workers against one PostgreSQL: renewals in shards and outbox deliveries, with 1, 2 and 4 processes.

Needs ``SHOPPRIVACY_BENCH_POSTGRES_URL`` (skipped without it). The shop holds
``SHOPPRIVACY_BENCH_WORKERS_SUBSCRIPTIONS`` subscriptions (default 1 000 000); each worker count bills its own
window of ``SHOPPRIVACY_BENCH_WORKERS_DUE`` due ones (default 2 000) through the local reference shop, as a
``renewals run`` every 15 minutes does. The outbox holds ``SHOPPRIVACY_BENCH_WORKERS_OUTBOX`` rows (default
100 000); each worker count delivers a window of ``SHOPPRIVACY_BENCH_WORKERS_DELIVER`` (default 2 000) to a handler
that answers after ``SHOPPRIVACY_BENCH_WORKERS_LATENCY_MS`` (default 20 ms, a platform's API call). Times are wall
clock from starting the processes to the last one ending (interpreter start included). A size of 0 leaves that
part out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _scale import T0, database, machine, seed_subscriptions
from sqlalchemy import func, insert, select, update

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.platforms.local import LocalShop
from shopprivacy.store.schema import outbox

COUNTS = (1, 2, 4)
ROOT = Path(__file__).parents[1]
FAR = T0 + timedelta(days=3650)

OUTBOX_WORKER = r"""
import sys, time
from shopprivacy.settings import OutboxSettings
from shopprivacy.store import Outbox, Store
url, latency = sys.argv[1], float(sys.argv[2])
outbox = Outbox(Store.from_url(url), OutboxSettings())
outbox.register("bench.state", lambda d: time.sleep(latency))
print(outbox.deliver_due().delivered)
"""


def _env(url: str, keyset: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPPRIVACY_")}
    env.update(SHOPPRIVACY_DATABASE_URL=url, SHOPPRIVACY_KEYSET=keyset,
               SHOPPRIVACY_PLATFORM_OPTIONS=json.dumps({"database_url": url}),
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return env


def _wait(procs: list[subprocess.Popen[str]]) -> list[str]:
    outs = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(err[-2000:])
        outs.append(out)
    return outs


def renewals(url: str, env: dict[str, str], total: int, due: int) -> None:
    shop = LocalShop.from_url(url)
    started = time.perf_counter()
    seed_subscriptions(shop, 0, total)  # due at T0 + i seconds
    print(f"   seeded {total:,} subscriptions in {time.perf_counter() - started:.0f}s", flush=True)
    rates = {}
    for k, n in enumerate(COUNTS):
        # this count's own window: the earlier windows were billed, so moved a month on, out of reach
        until = T0 + timedelta(seconds=(k + 1) * due)
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "shopprivacy", "renewals", "run", "--json", "--until",
                                   until.isoformat(), *(["--shard", f"{i}/{n}"] if n > 1 else [])],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(n)]
        results = [json.loads(out.splitlines()[-1]) for out in _wait(procs)]
        elapsed = time.perf_counter() - started
        billed = sum(r["billed"] for r in results)
        assert billed == due, results
        rates[n] = due / elapsed
        print(f"renewals with {n} worker(s), {due:,} due of {total:,}: {rates[n]:,.0f} renewals/s "
              f"({elapsed:.1f}s)", flush=True)
    print(f"renewals: 4 workers {rates[4] / rates[1]:.2f}x of 1 worker, 2 workers {rates[2] / rates[1]:.2f}x")
    shop.close()


def deliveries(url: str, total: int, window: int, latency_ms: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "outbox_worker.py"
        script.write_text(OUTBOX_WORKER)
        sp = ShopPrivacy(Settings(database_url=url, keyset=Keyset.generate().to_json()))
        started = time.perf_counter()
        now = sp.clock()
        for lo in range(0, total, 20_000):
            rows = [dict(topic="bench.state", idempotency_key=f"row-{i}", payload={"n": i}, status="pending",
                         attempts=0, next_attempt_at=FAR, created_at=now, updated_at=now,
                         ordering_key=f"subject:{i % (total // 4 or 1)}") for i in range(lo, min(lo + 20_000, total))]
            with sp.store.begin() as conn:
                conn.execute(insert(outbox), rows)
        print(f"   seeded {total:,} outbox rows in {time.perf_counter() - started:.0f}s", flush=True)
        with sp.store.begin(write=False) as conn:
            first = int(conn.execute(select(func.min(outbox.c.id))).scalar_one())
        sp.outbox._supersede()  # older states of each key: marked once here, not inside the first timing
        rates = {}
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        for k, n in enumerate(COUNTS):
            # a window of rows, the newest state of their ordering keys (older states are not due yet)
            ids = (first + total - (k + 1) * window, first + total - k * window)
            with sp.store.begin() as conn:
                conn.execute(update(outbox).where(outbox.c.id >= ids[0], outbox.c.id < ids[1])
                             .values(next_attempt_at=now))
            started = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, str(script), url, str(latency_ms / 1000)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
            delivered = sum(int(out.split()[-1]) for out in _wait(procs))
            elapsed = time.perf_counter() - started
            assert delivered == window, (delivered, window)
            rates[n] = window / elapsed
            print(f"outbox with {n} worker(s), {window:,} of {total:,} rows, {latency_ms:g} ms platform: "
                  f"{rates[n]:,.0f} deliveries/s ({elapsed:.1f}s)", flush=True)
        print(f"outbox: 4 workers {rates[4] / rates[1]:.2f}x of 1 worker, 2 workers {rates[2] / rates[1]:.2f}x")
        sp.close()


def main() -> None:
    if not os.environ.get("SHOPPRIVACY_BENCH_POSTGRES_URL"):
        print("bench_workers: skipped (set SHOPPRIVACY_BENCH_POSTGRES_URL)")
        return
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    subs = int(os.environ.get("SHOPPRIVACY_BENCH_WORKERS_SUBSCRIPTIONS", "1000000"))
    due = int(os.environ.get("SHOPPRIVACY_BENCH_WORKERS_DUE", "2000"))
    rows = int(os.environ.get("SHOPPRIVACY_BENCH_WORKERS_OUTBOX", "100000"))
    window = int(os.environ.get("SHOPPRIVACY_BENCH_WORKERS_DELIVER", "2000"))
    latency = float(os.environ.get("SHOPPRIVACY_BENCH_WORKERS_LATENCY_MS", "20"))
    with database("postgres") as url:
        keyset = Keyset.generate().to_json()
        sp = ShopPrivacy(Settings(database_url=url, keyset=keyset))
        sp.store.upgrade()
        sp.close()
        if subs:
            renewals(url, _env(url, keyset), subs, min(due, subs // len(COUNTS)))
        if rows:
            deliveries(url, rows, min(window, rows // len(COUNTS)), latency)


if __name__ == "__main__":
    main()
