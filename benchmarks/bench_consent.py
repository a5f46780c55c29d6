"""Cookie consent: gzipped size of consent.js + consent.css beside vanilla-cookieconsent 3.1 (npm, measured
the same way, gzip -9; the npm tarball is cached under ``~/.cache/shopprivacy-bench`` or
``SHOPPRIVACY_BENCH_CACHE``), and the consent read of a request as the Flask hook does it, Cookie header
included (target <= 30 µs), beside raw itsdangerous unsign."""

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

import flask
from _util import median_of_rounds, target_line

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
    value = header.split("=", 1)[1].split(";", 1)[0]
    cookies = {"sp_consent": value, "cart": "abc"}
    headers = {"Sec-GPC": "1", "User-Agent": "Mozilla/5.0"}
    consent = sp.consent
    signer = consent._signer
    raw = value.encode()
    # a shop's usual Cookie header: the consent cookie among session, cart and analytics cookies
    environ = {"HTTP_COOKIE": f"session=.eJw1jrEOgjAURf-laxmAljYw6aSDiYlB; cart=abc; _ga=GA1.1.123456789.1700000000; "
                              f"_ga_X1=GS1.1.1700000000.1.0.1700000000.0.0.0; sp_consent={value}; theme=dark",
               "HTTP_SEC_GPC": "1", "REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "shop",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http"}

    def hook() -> bool:  # what ShopPrivacyFlask's before_request hook does, on a fresh request each time
        req = flask.Request(environ)
        env = req.environ
        return consent.state_from_header(env.get("HTTP_COOKIE", ""), env.get("HTTP_SEC_GPC", ""),
                                         lambda: req.cookies).allows("analytics")

    def every_cookie() -> bool:  # the former hook: every cookie parsed by werkzeug first
        req = flask.Request(environ)
        return consent.state(req.cookies, {"Sec-GPC": req.headers.get("Sec-GPC", "")}).allows("analytics")

    def baseline() -> object:
        body = signer.unsign(raw)
        return json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))

    assert hook() == every_cookie() == consent.state(cookies, headers).allows("analytics")
    hook_t, every_t, state_t, base_t = median_of_rounds(
        [hook, every_cookie, lambda: consent.state(cookies, headers).allows("analytics"), baseline], number=5000)
    print(target_line("consent read per request as the Flask hook does it (cookie header included)", hook_t,
                      limit=30e-6, unit_text="µs", scale=1e6))
    print(f"   parsing every cookie first (the former hook): {every_t * 1e6:.1f} µs; ConsentState from parsed "
          f"cookies: {state_t * 1e6:.1f} µs; raw TimestampSigner.unsign + JSON: {base_t * 1e6:.1f} µs "
          f"({state_t / base_t:.2f}x)")
    sp.close()


if __name__ == "__main__":
    main()
