"""A heartbeat: renew leases from a background thread while slow work runs in the foreground.

Usage::

    with Heartbeat(renew_my_leases, interval=lease_seconds / 3, name="outbox run"):
        for row in rows:
            deliver(row)   # may take longer than one lease: renew_my_leases runs every ``interval``

A renewal that raises (the database unreachable for a moment) is logged and tried again on the next beat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger("shopprivacy.store")


class Heartbeat:
    """Calls ``renew`` every ``interval`` seconds in a daemon thread between ``__enter__`` and ``__exit__``."""

    def __init__(self, renew: Callable[[], object], *, interval: float, name: str) -> None:
        self.renew = renew
        self.interval = interval
        self.name = name
        #: Renewals done (for tests and logs).
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"shopprivacy-heartbeat: {name}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        # A renewal in progress finishes on its own; it cannot extend a lease its worker already settled.
        self._thread.join(timeout=max(self.interval, 1.0))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.renew()
            except Exception as exc:  # noqa: BLE001 - a failed beat is retried on the next one
                log.warning("%s: lease renewal failed (%s); retrying", self.name, type(exc).__name__)
                continue
            self.beats += 1


__all__ = ["Heartbeat"]
