"""``python -m examples.flask_shop.demo`` (``tox -e demo``): serves the example shop; ``--check`` for CI."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request

import pytest

pytest.importorskip("flask")

from examples.flask_shop import demo


def test_demo_serves_the_shop_and_prints_the_urls_to_try(tmp_path, capsys):
    assert demo.main([str(tmp_path), "--check", "--port", "0"]) == 0
    out = capsys.readouterr().out
    base = re.search(r"running on (http://127\.0\.0\.1:\d+)", out).group(1)
    for path in ("/", "/privacy/rights", "/static/analytics.js"):
        assert f"check: GET {path} -> 200" in out
    assert f"{base}/privacy/rights" in out and f"{base}/privacy/unsubscribe?t=" in out
    assert str(tmp_path / "flask_shop" / "mail") in out and out.rstrip().endswith("stopped")
    letters = list((tmp_path / "flask_shop" / "mail").glob("*-newsletter.eml"))
    assert len(letters) == 1

    # a second start finds the demo customer and sends no second newsletter
    assert demo.main([str(tmp_path), "--check", "--port", "0"]) == 0
    assert len(list((tmp_path / "flask_shop" / "mail").glob("*-newsletter.eml"))) == 1


def test_the_walkthrough_is_still_there(tmp_path, capsys):
    assert demo.main([str(tmp_path), "--walkthrough"]) == 0
    out = capsys.readouterr().out
    assert "one-click POST answered 200" in out and "detected:" in out


def test_ctrl_c_stops_the_server_cleanly(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "examples.flask_shop.demo", str(tmp_path), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stdout.readline()
        base = re.search(r"running on (http://127\.0\.0\.1:\d+)", first).group(1)
        with urllib.request.urlopen(base + "/", timeout=30) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and out.rstrip().endswith("stopped")
