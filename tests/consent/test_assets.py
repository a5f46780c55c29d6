"""The banner's files: gzip when the client accepts it, a version in the URL, a year's caching under it."""

import gzip
import hashlib
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.consent import assets
from shopprivacy.errors import InvalidInput
from shopprivacy.testing import respond
from shopprivacy.web import Request
from shopprivacy.web.http import accepts_gzip

GZ = {"Accept-Encoding": "gzip, deflate, br"}


def get(sp, name, query=None, **headers):
    return respond(sp, Request("GET", f"/privacy/consent/{name}", query=query or {}, headers=headers))


def packaged(name):
    """What is served for ``name``: the packaged file (the script trimmed of comment lines and indentation)."""
    raw = resources.files("shopprivacy.consent.static").joinpath(name).read_bytes()
    return assets.trim(raw.decode()).encode() if name.endswith(".js") else raw


@pytest.mark.parametrize("name", ["consent.js", "consent.css"])
def test_a_client_that_accepts_gzip_gets_the_file_compressed(sp, name):
    resp = get(sp, name, **GZ)
    assert resp.status == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(resp.body) == packaged(name)
    assert len(resp.body) < len(packaged(name)) / 2


@pytest.mark.parametrize("value", [None, "identity", "gzip;q=0", "br", "*;q=0", "x-gzip;q=0, *"])
def test_a_client_that_does_not_accept_gzip_gets_the_file_as_it_is(sp, value):
    resp = get(sp, "consent.js", **({"Accept-Encoding": value} if value is not None else {}))
    assert resp.status == 200 and "Content-Encoding" not in resp.headers and resp.body == packaged("consent.js")


def test_the_banner_links_its_files_by_version_and_they_are_cached_for_a_year(sp):
    v = assets.version()
    expected = hashlib.sha256(packaged("consent.css") + packaged("consent.js")).hexdigest()[:12]
    assert v == expected
    html = sp.consent.banner_html("en")
    assert f"/consent/consent.js?v={v}" in html and f"/consent/consent.css?v={v}" in html
    assert sp.consent.asset_url("consent.js").endswith(f"/privacy/consent/consent.js?v={v}")
    cached = get(sp, "consent.js", {"v": v}, **GZ)
    assert cached.headers["Cache-Control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("query", [{}, {"v": "0123456789ab"}, {"v": ""}])
def test_an_unversioned_or_stale_url_is_cached_a_day(sp, query):
    assert get(sp, "consent.css", query).headers["Cache-Control"] == "public, max-age=86400"


def test_each_variant_revalidates_by_its_own_etag(sp):
    plain, gz = get(sp, "consent.js"), get(sp, "consent.js", **GZ)
    assert plain.headers["ETag"] != gz.headers["ETag"]
    assert get(sp, "consent.js", **GZ, **{"If-None-Match": gz.headers["ETag"]}).status == 304
    assert get(sp, "consent.js", **{"If-None-Match": "W/" + plain.headers["ETag"]}).status == 304
    assert get(sp, "consent.js", **{"If-None-Match": gz.headers["ETag"]}).status == 200


def test_only_the_banner_files_have_urls(sp):
    with pytest.raises(InvalidInput, match="consent.css, consent.js"):
        sp.consent.asset_url("../settings.py")


@given(st.text(max_size=200))
def test_any_accept_encoding_is_read(value):
    assert accepts_gzip(value) in (True, False)


@pytest.mark.parametrize(("value", "gz"), [("gzip", True), ("GZIP;Q=0.5", True), ("x-gzip", True), ("*", True),
                                       ("gzip;q=0.000", False), ("gzip;q=abc", False), ("gzip;q=2", False),
                                       ("deflate, *;q=0.1", True), ("gzip;q=0, *", False), ("", False)])
def test_q_values_are_honoured(value, gz):
    assert accepts_gzip(value) is gz


def test_flask_and_the_browser_get_the_compressed_file(tmp_path):
    flask = pytest.importorskip("flask")
    from shopprivacy import Keyset
    from shopprivacy.integrations.flask import ShopPrivacyFlask

    app = flask.Flask(__name__)
    app.config.update(SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp_path}/sp.db",
                      SHOPPRIVACY_KEYSET=Keyset.generate().to_json(), SHOPPRIVACY_PUBLIC_BASE_URL="http://localhost")
    ShopPrivacyFlask(app)
    resp = app.test_client().get(f"/privacy/consent/consent.js?v={assets.version()}", headers=GZ)
    assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(resp.data) == packaged("consent.js")
    assert "immutable" in resp.headers["Cache-Control"]
    ShopPrivacyFlask.sp(app).close()
