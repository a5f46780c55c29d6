from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.i18n import direction, negotiate, parse_accept_language
from shopprivacy.web.pages import page

LANGS = frozenset({"en", "fr", "de", "ar"})


def test_accept_language_order_and_quality():
    assert parse_accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == ["fr-ch", "fr", "en", "de"]
    assert parse_accept_language("de;q=0, en") == ["en"]
    assert parse_accept_language(None) == []


def test_negotiate():
    assert negotiate(LANGS, accept_language="fr-CH, en;q=0.5") == "fr"
    assert negotiate(LANGS, requested="ar", accept_language="fr") == "ar"
    assert negotiate(LANGS, accept_language="ja") == "en"
    assert negotiate(LANGS, accept_language="ja", default="de") == "de"


def test_direction_and_page_frame():
    assert direction("ar") == "rtl" and direction("ar-EG") == "rtl" and direction("fr") == "ltr"
    html = page(title="<Unsubscribe>", body_html="<p>x</p>", locale="ar", nonce="abc")
    assert 'dir="rtl"' in html and 'lang="ar"' in html and "&lt;Unsubscribe&gt;" in html
    assert '<style nonce="abc">' in html and "<script" not in html


@given(st.text(max_size=200))
def test_accept_language_parser_never_raises(header):
    tags = parse_accept_language(header)
    assert all(isinstance(t, str) and t for t in tags)
    assert negotiate(LANGS, accept_language=header) in LANGS
