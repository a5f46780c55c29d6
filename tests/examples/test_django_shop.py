"""Runs the Django shop's suite (``tests/examples/django_shop``) in a pytest process of its own: Django's
settings are configured once per process, and the integration's tests configure another project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("django")

from tests.conftest import DJANGO_SHOP_PROCESS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.db
def test_the_django_shop_suite_passes(request: pytest.FixtureRequest) -> None:
    marker = request.config.getoption("-m") or ""
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", "--timeout=300",
            *(["-m", marker] if marker else []), "tests/examples/django_shop"]
    done = subprocess.run(args, cwd=ROOT, env={**os.environ, DJANGO_SHOP_PROCESS: "1"}, capture_output=True,
                          text=True, timeout=900)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, f"{summary}\n{done.stdout[-20000:]}\n{done.stderr[-5000:]}"
    assert " passed" in summary and "skipped" not in summary, summary
