"""The plugin's two parsers run by php-cli with WordPress's own hook API and ``wp_parse_url``: the backend URL
setting, and the payload of the banner's ``sp_consent`` cookie (what ``wc_order_attribution_allow_tracking``
answers without the WP Consent API), against cookies the SDK signs and against arbitrary input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shopprivacy import Keyset, Settings, ShopPrivacy

from .wpsite import HERE, PHP, PLUGIN, WORDPRESS

TEXT = st.characters(blacklist_categories=("Cs",))  # JSON has no lone surrogates
OPTIONAL = ["analytics", "marketing", "preferences", "sale_of_data"]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class Parsers:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([PHP, str(HERE / "php" / "parsers.php"), str(WORDPRESS),
                                      str(PLUGIN / "shopprivacy-consent.php")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def __call__(self, **case: object) -> object:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"php stopped: {self.proc.stderr.read() if self.proc.stderr else ''}"
        return json.loads(line)["out"]


@pytest.fixture(scope="module")
def php() -> Iterator[Parsers]:
    if shutil.which("php") is None or not (WORDPRESS / "wp-includes" / "plugin.php").is_file():
        if os.environ.get("SHOPPRIVACY_TEST_REQUIRE_WORDPRESS") == "1":
            pytest.fail("SHOPPRIVACY_TEST_REQUIRE_WORDPRESS=1 but php-cli or Debian's wordpress is missing")
        pytest.skip("WordPress tests skipped: php-cli or Debian's wordpress is missing")
    parsers = Parsers()
    yield parsers
    parsers.proc.stdin.close()  # type: ignore[union-attr]
    assert parsers.proc.wait(10) == 0
    assert parsers.proc.stderr is not None and parsers.proc.stderr.read() == ""  # no PHP warning on any input


@pytest.fixture(scope="module")
def sp(tmp_path_factory) -> ShopPrivacy:
    db = tmp_path_factory.mktemp("sp") / "sp.db"
    return ShopPrivacy(Settings(database_url=f"sqlite:///{db}", keyset=Keyset.generate().to_json(),
                                public_base_url="https://privacy.shop.example"))


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)
urls = st.builds(lambda scheme, host, port, path, slash: f"{scheme}://{host}{port}{path}{slash}",
                 st.sampled_from(["http", "https", "HTTPS"]), hosts,
                 st.sampled_from(["", ":8443", ":80"]), st.from_regex(r"(/[A-Za-z0-9_.~-]{1,12}){0,3}", fullmatch=True),
                 st.sampled_from(["", "/", "//"]))


@FAST
@given(url=urls)
def test_a_backend_url_is_kept_without_its_trailing_slash(php, url):
    assert php(fn="base", value=url) == url.rstrip("/")
    assert php(fn="base", value=f"  {url}\n") == url.rstrip("/")


@FAST
@given(url=urls, bad=st.sampled_from(["?a=1", "#x", '"', "<", " x"]))
def test_a_backend_url_with_a_query_fragment_or_markup_is_refused(php, url, bad):
    assert php(fn="base", value=url.rstrip("/") + bad) is None


@FAST
@example(value="\x00")  # PHP's trim() strips NUL: an empty setting, not a URL
@given(value=st.text(TEXT, max_size=300) | st.sampled_from(["javascript:alert(1)", "//evil.example", "ftp://x.example",
                                                      "https://user:pw@x.example", "https:///path", "https://"]))
def test_any_backend_url_is_refused_or_a_clean_http_url(php, value):
    out = php(fn="base", value=value)
    if out == "":
        assert value.strip(" \t\n\r\0\x0b") == ""  # what PHP's trim() strips, NUL included
        return
    if out is None:
        return
    parts = urlsplit(out)
    assert parts.scheme.lower() in ("http", "https") and parts.hostname and not parts.query and not parts.fragment
    assert not out.endswith("/") and not any(c in out for c in " \t\n\"'<>\\") and "@" not in parts.netloc


@FAST
@given(granted=st.frozensets(st.sampled_from(OPTIONAL)), override=st.booleans(), gpc=st.booleans(),
       category=st.sampled_from(OPTIONAL), consent_id=st.uuids())
def test_the_cookie_the_sdk_signs_grants_what_it_holds_with_gpc_applied(php, sp, granted, override, gpc, category,
                                                                        consent_id):
    cookie = sp.consent.cookie_value(str(consent_id), granted, override)
    expected = category in granted and not (gpc and not override and category in ("marketing", "sale_of_data"))
    assert php(fn="grants", cookie=cookie, gpc=gpc, category=category) is expected


@FAST
@given(cookie=st.text(TEXT, max_size=600) | st.binary(max_size=200).map(lambda b: b.hex()), gpc=st.booleans(),
       category=st.sampled_from(OPTIONAL))
def test_any_cookie_is_no_choice_or_a_boolean(php, cookie, gpc, category):
    assert php(fn="grants", cookie=cookie, gpc=gpc, category=category) in (None, True, False)


def test_no_cookie_is_no_choice_and_an_oversized_one_is_ignored(php, sp):
    assert php(fn="grants", cookie="", gpc=False, category="marketing") is None
    big = sp.consent.cookie_value("x" * 5000, frozenset({"marketing"}), False)
    assert php(fn="grants", cookie=big, gpc=False, category="marketing") is None
