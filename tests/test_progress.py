import io
import logging

from shopprivacy.progress import Progress


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class TTY(io.StringIO):
    def isatty(self):
        return True


def test_tty_draws_bar_with_eta():
    clock, out = Clock(), TTY()
    with Progress("re-encrypt", total=100, stream=out, clock=clock) as p:
        clock.t = 1.0
        p.advance(25)
        assert "25%" in out.getvalue() and "25/100" in out.getvalue() and "ETA 0:00:03" in out.getvalue()
        clock.t = 2.0
        p.advance(75)
    assert out.getvalue().endswith("re-encrypt: 100 in 2.0s\n")


def test_cron_stays_quiet_and_logs(caplog):
    clock, out = Clock(), io.StringIO()
    with caplog.at_level(logging.INFO, logger="shopprivacy.progress"):
        with Progress("sweep", total=10, stream=out, clock=clock, log_every=5) as p:
            clock.t = 6
            p.advance(5)
            p.advance(5)
    assert out.getvalue() == ""
    assert [r.getMessage() for r in caplog.records][0].startswith("sweep [")
    assert caplog.records[-1].getMessage() == "sweep: 10 in 6.0s"
