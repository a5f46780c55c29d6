"""Fetch what the browser tests need before they run (``tox -e browser`` calls this first).

- Debian's Chromium at ``SHOPPRIVACY_TEST_CHROMIUM`` (default ``/usr/bin/chromium``): installed with apt-get when
  missing and this runs as root on a Debian-like machine;
- axe-core from npm into ``SHOPPRIVACY_TEST_AXE``'s folder (npm's own global config is named, since ``--prefix``
  would move it, and with it a CA file or registry the machine sets there); npm itself installed like Chromium.

When something cannot be had, it prints one line saying what to install and exits 0: the browser tests then skip
with the same line. With ``SHOPPRIVACY_TEST_REQUIRE_BROWSER=1`` (CI) it exits 1 instead, and the tests fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

CHROMIUM = Path(os.environ.get("SHOPPRIVACY_TEST_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("SHOPPRIVACY_TEST_REQUIRE_BROWSER", "") not in ("", "0")
AXE_VERSION = "axe-core@4"


def missing(axe: Path | None) -> str | None:
    """What the browser tests lack, as the one line to print, or ``None`` when all is there."""
    lacking = []
    if not CHROMIUM.exists():
        lacking.append(f"Debian's chromium at {CHROMIUM} (apt-get install chromium, or set SHOPPRIVACY_TEST_CHROMIUM)")
    if axe is not None and not axe.exists():
        lacking.append(f"axe-core at {axe} (needs npm: apt-get install npm, then rerun tox -e browser)")
    if not lacking:
        return None
    return "browser tests skipped: missing " + "; ".join(lacking)


def _apt_install(*packages: str) -> bool:
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    print(f"installing Debian's {' '.join(packages)} for the browser tests", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        if subprocess.run(command, stdout=subprocess.DEVNULL, env=env).returncode != 0:
            return False
    return True


def _npm_install(folder: Path) -> bool:
    if not shutil.which("npm") and not _apt_install("npm"):
        return False
    config = subprocess.run(["npm", "config", "get", "globalconfig"], capture_output=True, text=True).stdout.strip()
    command = ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--silent", "--fetch-timeout=60000",
               "--prefix", str(folder), AXE_VERSION]
    if config:
        command[2:2] = ["--globalconfig", config]
    for attempt in range(1, 5):  # the registry is occasionally slow to answer: retry before giving up
        if subprocess.run(command).returncode == 0:
            return True
        time.sleep(attempt * 5)
    return False


def main() -> int:
    axe_env = os.environ.get("SHOPPRIVACY_TEST_AXE")
    axe = Path(axe_env) if axe_env else None
    if not CHROMIUM.exists():
        _apt_install("chromium")
    if axe is not None and not axe.exists():
        # .../npm/node_modules/axe-core/axe.min.js -> .../npm
        _npm_install(axe.parent.parent.parent)
    problem = missing(axe)
    if problem is None:
        return 0
    print(problem, flush=True)
    return 1 if REQUIRED else 0


if __name__ == "__main__":
    sys.exit(main())
