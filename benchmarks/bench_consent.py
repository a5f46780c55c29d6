"""Cookie consent: gzipped size of consent.js + consent.css beside vanilla-cookieconsent 3.1 (npm, measured
the same way, gzip -9; the npm tarball is cached under ``~/.cache/shopprivacy-bench`` or
``SHOPPRIVACY_BENCH_CACHE``), and ConsentState from a request (target <= 30 µs) vs raw itsdangerous unsign."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from importlib import resources
from pathlib import Path

from _util import per_call, ratio_line

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.consent.service import Choice


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


ANCHOR = "vanilla-cookieconsent@3.1"
ANCHOR_FILES = ("package/dist/cookieconsent.umd.js", "package/dist/cookieconsent.css")
#: npm here can take over a minute per fetch and sometimes fails: several attempts, each with a long timeout.
ATTEMPTS, FETCH_TIMEOUT_MS, BACKOFF_S = 4, 180_000, 10


def cache_dir() -> Path:
    """Where the fetched tarball is kept between runs: ``SHOPPRIVACY_BENCH_CACHE``, else ``~/.cache``."""
    chosen = os.environ.get("SHOPPRIVACY_BENCH_CACHE")
    base = Path(chosen) if chosen else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "shopprivacy-bench" if not chosen else base


def fetch_anchor() -> Path | None:
    """The npm tarball of vanilla-cookieconsent 3.1 (``npm pack``), fetched once and then read from the cache."""
    cache = cache_dir()
    cached = sorted(cache.glob("vanilla-cookieconsent-3.1.*.tgz"))
    if cached:
        return cached[-1]
    cache.mkdir(parents=True, exist_ok=True)
    cmd = ["npm", "pack", ANCHOR, "--silent", "--pack-destination", str(cache), f"--fetch-timeout={FETCH_TIMEOUT_MS}",
           "--fetch-retries=3", "--fetch-retry-mintimeout=10000", "--fetch-retry-maxtimeout=60000"]
    for attempt in range(1, ATTEMPTS + 1):
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=FETCH_TIMEOUT_MS / 1000 + 120)
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"  npm pack {ANCHOR}: attempt {attempt}/{ATTEMPTS} failed ({type(exc).__name__})", file=sys.stderr)
            if attempt < ATTEMPTS:
                time.sleep(BACKOFF_S * attempt)
            continue
        cached = sorted(cache.glob("vanilla-cookieconsent-3.1.*.tgz"))
        if cached:
            return cached[-1]
    return None


def anchor_size() -> tuple[int, str] | None:
    tarball = fetch_anchor()
    if tarball is None:
        return None
    try:
        with tarfile.open(tarball) as tar:
            data = b""
            for name in ANCHOR_FILES:
                member = tar.extractfile(name)
                if member is None:
                    return None
                data += member.read()
    except (OSError, tarfile.TarError, KeyError):
        tarball.unlink(missing_ok=True)  # a damaged download: fetch again next run
        return None
    return gz(data), tarball.name.removesuffix(".tgz").rsplit("-", 1)[-1]


def main() -> None:
    static = resources.files("shopprivacy.consent.static")
    js, css = static.joinpath("consent.js").read_bytes(), static.joinpath("consent.css").read_bytes()
    ours = gz(js + css)
    anchor = anchor_size()
    line = f"consent.js + consent.css gzip -9: {ours:,} B (target <= 8 192 B)"
    if anchor:
        size, version = anchor
        line += f"; vanilla-cookieconsent {version} umd.js + css: {size:,} B; ratio {ours / size:.2f}x"
    else:
        line += f"; vanilla-cookieconsent 3.1 could not be fetched from npm after {ATTEMPTS} attempts"
    print(line)

    tmp = Path(tempfile.mkdtemp())
    sp = ShopPrivacy(Settings(database_url=f"sqlite:///{tmp / 'sp.db'}", keyset=Keyset.generate().to_json()))
    sp.store.upgrade()
    _, header = sp.consent.record(Choice(granted=frozenset({"analytics"}), method="custom"))
    cookies = {"sp_consent": header.split("=", 1)[1].split(";", 1)[0], "cart": "abc"}
    headers = {"Sec-GPC": "1", "User-Agent": "Mozilla/5.0"}
    consent = sp.consent
    signer = consent._signer
    raw = cookies["sp_consent"].encode()
    ours_t = per_call(lambda: consent.state(cookies, headers).allows("analytics"), number=20_000)
    def baseline() -> object:
        body = signer.unsign(raw)
        return json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))

    base_t = per_call(baseline, number=20_000)
    print(ratio_line("ConsentState from a request vs raw TimestampSigner.unsign", ours_t, base_t,
                     target="ours <= 30 µs"))
    sp.close()


if __name__ == "__main__":
    main()
