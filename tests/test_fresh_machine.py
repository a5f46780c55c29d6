"""The README's ``tox`` on a fresh machine: without Chromium, npm or apt-get the browser env names what to install
in one line and its tests skip; CI (``SHOPPRIVACY_TEST_REQUIRE_BROWSER=1``) fails instead."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bare_env(tmp_path, **extra):
    bin_dir = tmp_path / "bin"  # a PATH with python only: no apt-get, no npm, no chromium
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "python").exists():
        (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPPRIVACY_")}
    env.update(PATH=str(bin_dir), SHOPPRIVACY_TEST_CHROMIUM=str(tmp_path / "no-chromium"),
               SHOPPRIVACY_TEST_AXE=str(tmp_path / "npm/node_modules/axe-core/axe.min.js"), **extra)
    return env


def test_prepare_names_what_to_install_in_one_line_and_succeeds(tmp_path):
    run = subprocess.run([sys.executable, "tests/browser/prepare.py"], cwd=ROOT, env=bare_env(tmp_path),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1 and run.stderr == ""
    assert "apt-get install chromium" in lines[0] and "apt-get install npm" in lines[0]


def test_ci_requires_the_browser(tmp_path):
    run = subprocess.run([sys.executable, "tests/browser/prepare.py"], cwd=ROOT,
                         env=bare_env(tmp_path, SHOPPRIVACY_TEST_REQUIRE_BROWSER="1"), capture_output=True, text=True)
    assert run.returncode == 1 and "browser tests skipped: missing" in run.stdout


def test_the_browser_tests_skip_with_that_line(tmp_path):
    env = bare_env(tmp_path, PYTHONPATH=os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/browser"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "apt-get install chromium" in run.stdout and " passed" not in run.stdout and "skipped" in run.stdout
