"""``--workers N``: run one command as N processes of this machine and add up what they report; ``Shard``, the
share of the work one of N workers takes first.

Each worker is ``python -m shopprivacy <command> --json`` (with its own ``--shard I/N`` where the command takes
one) started with this process's environment; it builds its own facade and connections. What keeps the workers
from doing anything twice lives in the database, not here (renewal claims, outbox leases, job checkpoints), so
the same commands may as well run on several machines, from cron or a task queue. A worker that dies leaves its
work to the others or to the next run (see docs/scaling.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput, ShopPrivacyError

MAX_WORKERS = 64
_SHARD = re.compile(r"^(\d{1,4})/(\d{1,4})$")


@dataclass(frozen=True)
class Shard:
    """Worker ``index`` (0-based) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count <= 1000:
            raise InvalidInput("a shard is INDEX/COUNT with 0 <= INDEX < COUNT <= 1000, e.g. 0/4")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"1/4"`` -> ``Shard(1, 4)``."""
        m = _SHARD.match(text.strip())
        if m is None:
            raise InvalidInput(f"--shard takes INDEX/COUNT such as 0/4, not {text[:20]!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    def owns(self, key: str) -> bool:
        """Whether ``key`` (a subscription id, a row id as text) is in this share (a stable hash of it)."""
        digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
        return int.from_bytes(digest, "big") % self.count == self.index


class WorkerFailed(ShopPrivacyError):
    """A worker process ended with an error (its own ``error:`` lines were printed to stderr)."""


def check_count(count: int) -> int:
    if not 1 <= count <= MAX_WORKERS:
        raise InvalidInput(f"--workers takes 1 to {MAX_WORKERS} processes, not {count}")
    return count


def run_workers(argv_of: Callable[[int], Sequence[str]], count: int, *,
                env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Start ``count`` workers ``python -m shopprivacy <argv_of(i)>`` at once, wait for all of them and return the
    JSON object each printed last. Ctrl-C (or SIGTERM) is passed on to every worker."""
    check_count(count)
    procs = [subprocess.Popen([sys.executable, "-m", "shopprivacy", *argv_of(i)], stdout=subprocess.PIPE,  # noqa: S603
                              stdin=subprocess.DEVNULL, env=None if env is None else dict(env), text=True)
             for i in range(count)]
    previous = signal.getsignal(signal.SIGTERM)

    def pass_on(signum: int, _frame: Any) -> None:
        for proc in procs:
            proc.send_signal(signum)

    try:
        signal.signal(signal.SIGTERM, pass_on)
    except ValueError:  # not the main thread: no handler, the workers end with their parent's session
        previous = None
    try:
        outputs = [proc.communicate()[0] for proc in procs]
    except KeyboardInterrupt:
        pass_on(signal.SIGINT, None)
        for proc in procs:
            proc.wait()
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    failed = [i for i, proc in enumerate(procs) if proc.returncode != 0]
    if failed:
        raise WorkerFailed(f"worker(s) {', '.join(map(str, failed))} of {count} ended with an error; the work they "
                           "did is kept and the next run takes up the rest")
    results = []
    for text in outputs:
        lines = [line for line in text.splitlines() if line.startswith("{")]
        results.append(json.loads(lines[-1]) if lines else {})
    return results


def add_up(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Sum the workers' numbers key by key (nested objects too); other values are kept from the first."""
    total: dict[str, Any] = {}
    for result in results:
        for key, value in result.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
                total.setdefault(key, value)
            elif isinstance(value, dict):
                total[key] = add_up([total.get(key) or {}, value])
            else:
                total[key] = total.get(key, 0) + value
    return total


__all__ = ["MAX_WORKERS", "Shard", "WorkerFailed", "add_up", "check_count", "run_workers"]
