"""The banner's weight: its script, its stylesheet and one language stay within ``assets.BUDGET`` bytes
gzip-compressed (measured as served), and the script reaches the server's texts in one request."""

import gzip
from importlib import resources

import pytest

from shopprivacy.consent import assets
from shopprivacy.i18n import available_locales
from shopprivacy.testing import respond
from shopprivacy.web import Request

PACKAGE = "shopprivacy.consent.static"


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 9, mtime=0))


def served_code() -> int:
    return len(assets.asset("consent.js").gzipped) + len(assets.asset("consent.css").gzipped)


def test_the_script_the_stylesheet_and_the_largest_language_file_fit_the_budget():
    folder = resources.files(PACKAGE).joinpath("locales")
    files = {p.name: gz(p.read_bytes()) for p in folder.iterdir() if p.name.endswith(".json")}
    name, largest = max(files.items(), key=lambda kv: kv[1])
    total = served_code() + largest
    assert total <= assets.BUDGET, (f"consent.js + consent.css + {name} = {total} bytes gzip, over "
                                    f"{assets.BUDGET}: shorten the texts or the script")


def test_the_configuration_each_language_sends_fits_the_budget_too(sp):
    """What a one-tag page really downloads: script, stylesheet and one configuration (texts + categories)."""
    for lang in sorted(available_locales(PACKAGE)):
        resp = respond(sp, Request("GET", "/privacy/consent/config", query={"locale": lang},
                                   headers={"Accept-Encoding": "gzip"}))
        assert resp.status == 200 and resp.headers["Content-Encoding"] == "gzip"
        assert served_code() + len(resp.body) <= assets.BUDGET, lang


def test_the_configuration_is_gzip_encoded_only_for_clients_that_accept_it(sp):
    plain = respond(sp, Request("GET", "/privacy/consent/config", query={"locale": "de"}))
    packed = respond(sp, Request("GET", "/privacy/consent/config", query={"locale": "de"},
                                 headers={"Accept-Encoding": "gzip, br"}))
    assert "Content-Encoding" not in plain.headers and gzip.decompress(packed.body) == plain.body
    assert plain.headers["ETag"] != packed.headers["ETag"] and "Accept-Encoding" in packed.headers["Vary"]
    again = respond(sp, Request("GET", "/privacy/consent/config", query={"locale": "de"},
                                headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}))
    assert again.status == 304 and not again.body


@pytest.mark.parametrize(("script", "expected"), [
    ("/* header\n   more */\n(function () {\n  var a = 1;  // kept: code before it\n}());\n",
     "(function () {\nvar a = 1;  // kept: code before it\n}());\n"),
    ('  // a comment line\n  var u = "https://x//y";\n\n\n  var r = /\\/+$/;\n',
     'var u = "https://x//y";\nvar r = /\\/+$/;\n'),
])
def test_trimming_drops_comment_lines_and_indentation_only(script, expected):
    assert assets.trim(script) == expected


def test_the_served_script_keeps_every_line_of_code():
    raw = resources.files(PACKAGE).joinpath("consent.js").read_text(encoding="utf-8")
    served = assets.asset("consent.js").body.decode()
    code = [line.strip() for line in raw.split("*/", 1)[1].splitlines()
            if line.strip() and not line.strip().startswith("//")]
    assert served.splitlines() == code and len(served) < len(raw)
