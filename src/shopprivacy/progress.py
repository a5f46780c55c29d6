"""Progress of long jobs: a bar with rate and ETA on a terminal, quiet log lines in cron."""

from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any

log = logging.getLogger("shopprivacy.progress")


class Progress:
    """Report ``advance(n)`` calls. On a TTY draws ``label [####....] 42% 1200/s ETA 0:00:12``;
    elsewhere logs one INFO line every ``log_every`` seconds and a final summary (silent unless logging
    is configured), so cron mails stay empty."""

    def __init__(self, label: str, total: int | None = None, *, stream: IO[str] | None = None,
                 log_every: float = 30.0, clock: Any = time.monotonic) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.clock = clock
        self.started = clock()
        self._last_draw = 0.0
        self._last_log = self.started
        self.log_every = log_every

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def rate(self) -> float:
        elapsed = self.clock() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate

    def line(self) -> str:
        parts = [self.label]
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * 24)
            parts.append(f"[{'#' * filled}{'.' * (24 - filled)}] {frac:4.0%} {self.done}/{self.total}")
        else:
            parts.append(str(self.done))
        parts.append(f"{self.rate:,.0f}/s")
        eta = self.eta()
        if eta is not None:
            parts.append(f"ETA {int(eta) // 3600}:{int(eta) % 3600 // 60:02d}:{int(eta) % 60:02d}")
        return " ".join(parts)

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if self.tty:
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                self.stream.write("\r\x1b[K" + self.line())
                self.stream.flush()
        elif now - self._last_log >= self.log_every:
            self._last_log = now
            log.info("%s", self.line())

    def close(self) -> None:
        elapsed = self.clock() - self.started
        summary = f"{self.label}: {self.done} in {elapsed:.1f}s"
        if self.tty:
            self.stream.write("\r\x1b[K" + summary + "\n")
            self.stream.flush()
        else:
            log.info("%s", summary)
