"""Cookie consent: gzipped size of consent.js + consent.css beside vanilla-cookieconsent 3.1 (npm, measured
the same way, gzip -9), and ConsentState from a request (target <= 30 µs) vs raw itsdangerous unsign."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from _util import per_call, ratio_line

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.consent.service import Choice


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def anchor_size() -> int | None:
    tmp = Path(tempfile.mkdtemp())
    try:
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--silent", "--prefix", str(tmp),
                        "vanilla-cookieconsent@3.1"], check=True, capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError):
        return None
    dist = tmp / "node_modules" / "vanilla-cookieconsent" / "dist"
    js, css = dist / "cookieconsent.umd.js", dist / "cookieconsent.css"
    if not js.exists() or not css.exists():
        return None
    return gz(js.read_bytes() + css.read_bytes())


def main() -> None:
    static = resources.files("shopprivacy.consent.static")
    js, css = static.joinpath("consent.js").read_bytes(), static.joinpath("consent.css").read_bytes()
    ours = gz(js + css)
    anchor = anchor_size()
    line = f"consent.js + consent.css gzip -9: {ours:,} B (target <= 8 192 B)"
    if anchor:
        line += f"; vanilla-cookieconsent 3.1 umd.js + css: {anchor:,} B; ratio {ours / anchor:.2f}x"
    else:
        line += "; vanilla-cookieconsent 3.1 could not be fetched from npm in this run"
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
