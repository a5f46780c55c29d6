"""Language negotiation (``Accept-Language`` weights, file tags in any case, regional and legacy tags), text
direction and the page frame."""

import re

from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.i18n import direction, match, negotiate, parse_accept_language
from shopprivacy.web.pages import page

LANGS = frozenset({"en", "fr", "de", "ar"})
#: The file tags of a full set of catalogs (as spelled on disk).
FILES = frozenset({"ar", "bg", "cs", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "ga", "he", "hr", "hu",
                   "it", "ja", "lt", "lv", "mt", "nl", "no", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv",
                   "tr", "uk", "zh"})


def test_accept_language_order_and_quality():
    assert parse_accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == ["fr-ch", "fr", "en", "de"]
    assert parse_accept_language("de;q=0, en") == ["en"]
    assert parse_accept_language(None) == []


def test_equal_weights_keep_the_headers_order_and_bad_weights_drop_the_part():
    assert parse_accept_language("ja;q=0.5, de;q=0.8, it;q=0.5, nl") == ["nl", "de", "ja", "it"]
    assert parse_accept_language("fr;q=2, de;q=abc, es;q=nan, it;q=0.000, nl;q=0.001, sv;level=1;q=0.5") == \
        ["sv", "nl"]
    assert parse_accept_language("pt_BR, zh-Hant-TW;Q=0.9") == ["pt-br", "zh-hant-tw"]


def test_negotiate():
    assert negotiate(LANGS, accept_language="fr-CH, en;q=0.5") == "fr"
    assert negotiate(LANGS, requested="ar", accept_language="fr") == "ar"
    assert negotiate(LANGS, accept_language="ja") == "en"
    assert negotiate(LANGS, accept_language="ja", default="de") == "de"


def test_q_values_decide_over_the_headers_order():
    assert negotiate(FILES, accept_language="ja;q=0.2, uk;q=0.9") == "uk"
    assert negotiate(FILES, accept_language="ja;q=0, sv;q=0.1") == "sv"  # q=0: "not this one"
    assert negotiate(FILES, accept_language="xx, el;q=0.3, tr;q=0.3") == "el"


def test_file_tags_match_in_any_case_and_regional_variants_find_their_file():
    cases = {"pt-br": "pt-BR", "PT-BR": "pt-BR", "pt-Latn-BR": "pt-BR", "pt": "pt", "pt-PT": "pt", "pt-AO": "pt",
             "nb": "no", "nn": "no", "no": "no", "nb-NO": "no", "no-NO": "no", "zh": "zh", "zh-Hans": "zh",
             "zh-CN": "zh", "zh-SG": "zh", "zh-TW": "zh", "zh-Hant": "zh", "zh-Hant-HK": "zh", "iw": "he",
             "iw-IL": "he", "he-IL": "he", "de-CH-1996": "de", "en_GB": "en", "ga-IE": "ga"}
    for asked, file in cases.items():
        assert negotiate(FILES, requested=asked) == file, asked
        assert negotiate(FILES, accept_language=f"xx, {asked};q=0.8") == file, asked


def test_portuguese_falls_back_to_the_other_variant():
    assert match({"en", "pt-BR"}, "pt") == "pt-BR" and match({"en", "pt-BR"}, "pt-PT") == "pt-BR"
    assert match({"en", "pt"}, "pt-BR") == "pt"
    assert match({"en", "pt-BR", "pt-AO"}, "pt") == "pt-BR"  # Brazil first among the regions
    assert match({"en", "nb"}, "nb") == "nb" and match({"en", "nb"}, "no") is None  # a shop's own nb file wins


def test_direction_and_page_frame():
    assert direction("ar") == "rtl" and direction("ar-EG") == "rtl" and direction("fr") == "ltr"
    for rtl in ("he", "fa", "ur", "iw", "pa-Arab", "HE-il"):
        assert direction(rtl) == "rtl", rtl
    for ltr in ("tr", "ja", "zh", "pt-BR", "ru", "uk", "no", "el"):
        assert direction(ltr) == "ltr", ltr
    html = page(title="<Unsubscribe>", body_html="<p>x</p>", locale="ar", nonce="abc")
    assert 'dir="rtl"' in html and 'lang="ar"' in html and "&lt;Unsubscribe&gt;" in html
    assert '<style nonce="abc">' in html and "<script" not in html
    assert 'lang="he" dir="rtl"' in page(title="t", body_html="", locale="he")


@given(st.text(max_size=200))
def test_accept_language_parser_never_raises(header):
    tags = parse_accept_language(header)
    assert all(isinstance(t, str) and t for t in tags)
    assert negotiate(LANGS, accept_language=header) in LANGS


TAG = st.from_regex(r"[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-[a-zA-Z]{2})?", fullmatch=True)
PART = st.tuples(TAG, st.one_of(st.none(), st.integers(0, 1000)))


@given(st.lists(PART, max_size=12))
def test_accept_language_is_ordered_by_weight_then_position(parts):
    header = ", ".join(t if q is None else f"{t};q={q / 1000:.3f}" for t, q in parts)
    weights = [(1.0 if q is None else round(q / 1000, 3), i, t.lower()) for i, (t, q) in enumerate(parts)]
    expected = [t for w, i, t in sorted(weights, key=lambda x: (-x[0], x[1])) if w > 0]
    assert parse_accept_language(header) == expected


@given(st.lists(PART, max_size=8), st.one_of(st.none(), TAG))
def test_negotiate_picks_the_best_weighted_tag_that_has_a_file(parts, requested):
    header = ", ".join(t if q is None else f"{t};q={q / 1000:.3f}" for t, q in parts)
    got = negotiate(FILES, requested=requested, accept_language=header)
    assert got in FILES
    candidates = ([requested] if requested else []) + parse_accept_language(header)
    served = [match(FILES, t) for t in candidates]
    assert got == next((s for s in served if s is not None), "en")
    if served and served[0] is not None:  # the first that has a file wins, whatever comes later
        assert got == served[0]


@given(st.text(max_size=40))
def test_match_gives_a_file_of_the_set_or_none(tag):
    found = match(FILES, tag)
    assert found is None or found in FILES
    if found is not None and re.fullmatch(r"[A-Za-z]{2,3}", tag):
        assert found.split("-")[0] in (tag.lower(), {"iw": "he", "nb": "no", "nn": "no"}.get(tag.lower()))
