"""Consent Mode settings: the category → signal mapping and its EU default, where ``sale_of_data`` narrows, and
region codes validated at settings load (ISO 3166-1 alpha-2 / ISO 3166-2, presets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shopprivacy import Settings
from shopprivacy.consent.regions import ALPHA2, EEA_UK_CH, normalize_region, parse_regions
from shopprivacy.consent.settings import ConsentSettings
from shopprivacy.errors import ConfigurationError
from shopprivacy.i18n import available_locales

REGIONS = "SHOPPRIVACY_CONSENT__CONSENT_MODE_REGIONS"
SALE = "SHOPPRIVACY_CONSENT__CONSENT_MODE_SALE_OF_DATA_REGIONS"
MAPPING = "SHOPPRIVACY_CONSENT__CONSENT_MODE"
ISO3166_TAB = Path("/usr/share/zoneinfo/iso3166.tab")


def test_the_default_mapping_is_right_for_eu_shops():
    c = ConsentSettings()
    assert c.consent_mode["marketing"] == ["ad_storage", "ad_user_data", "ad_personalization"]
    assert c.consent_mode["analytics"] == ["analytics_storage"]
    assert c.consent_mode["preferences"] == ["functionality_storage", "personalization_storage"]
    assert "sale_of_data" not in c.consent_mode  # it grants no signal of its own
    assert c.consent_mode_sale_of_data_regions == ["US"]  # it only narrows for visitors placed in the US


@pytest.mark.parametrize(("value", "says"), [
    ('["EU"]', "'EU' is not an ISO 3166-1 alpha-2 country code"),
    ("EU", "preset 'EEA+UK+CH'"),
    ('["foo bar"]', "'foo bar' is not an ISO 3166-1"),
    ('[""]', "an empty region code"),
    ('["FR", ""]', "an empty region code"),
    ('["UK"]', "the United Kingdom is 'GB'"),
    ('["US-"]', "'US-' is not"),
    ('["ZZ-CA"]', "'ZZ-CA' is not"),
    ('["FR", 3]', "strings, not int"),
    ('["*"]', "'*' is not"),
])
def test_a_bad_region_stops_the_start_with_one_line(value, says):
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env({REGIONS: value})
    text = str(err.value)
    assert text.startswith(REGIONS) and says in text and "\n" not in text


def test_an_empty_region_text_is_refused():
    with pytest.raises(ValidationError, match="an empty region list"):
        ConsentSettings(consent_mode_regions="")
    with pytest.raises(ValidationError, match="an empty region code"):
        ConsentSettings(consent_mode_regions=[""])


def test_regions_are_normalised_and_the_preset_expands():
    s = Settings.from_env({REGIONS: "fr, US-CA  ca-qc,FR"})
    assert s.consent.consent_mode_regions == ["FR", "US-CA", "CA-QC"]
    preset = Settings.from_env({REGIONS: '["EEA+UK+CH", "US-CA"]'}).consent.consent_mode_regions
    assert preset[-1] == "US-CA" and len(preset) == len(EEA_UK_CH) + 1 == 40
    assert {"FR", "DE", "GR", "IS", "LI", "NO", "GB", "CH", "AX", "RE"} <= set(preset)
    assert not {"EU", "EL", "UK"} & set(preset)
    assert Settings.from_env({REGIONS: "eea+uk+ch"}).consent.consent_mode_regions == list(EEA_UK_CH)


def test_sale_of_data_regions_allow_every_visitor_or_none():
    assert Settings.from_env({SALE: '["*"]'}).consent.consent_mode_sale_of_data_regions == ["*"]
    assert ConsentSettings(consent_mode_sale_of_data_regions=[]).consent_mode_sale_of_data_regions == []
    assert Settings.from_env({SALE: "US, US-CA"}).consent.consent_mode_sale_of_data_regions == ["US", "US-CA"]
    for bad in ('["*", "US"]', '["EU"]'):
        with pytest.raises(ConfigurationError, match=SALE):
            Settings.from_env({SALE: bad})


def test_the_mapping_names_known_categories_and_signals():
    ok = Settings.from_env({MAPPING: json.dumps({"marketing": ["ad_storage"], "sale_of_data": ["ad_user_data"]})})
    assert ok.consent.consent_mode == {"marketing": ["ad_storage"], "sale_of_data": ["ad_user_data"]}
    for mapping, says in (({"marketing": ["ads_storage"]}, "'ads_storage' is not a Consent Mode signal"),
                          ({"necessary": ["security_storage"]}, "'necessary' is not an optional category"),
                          ({"tracking": []}, "'tracking' is not an optional category")):
        with pytest.raises(ConfigurationError) as err:
            Settings.from_env({MAPPING: json.dumps(mapping)})
        assert str(err.value).startswith(MAPPING) and says in str(err.value)


@pytest.mark.skipif(not ISO3166_TAB.is_file(), reason="tzdata's copy of the ISO 3166 list is not installed")
def test_alpha2_codes_are_the_assigned_ones():
    assigned = {line.split("\t")[0] for line in ISO3166_TAB.read_text().splitlines() if line[:1].isalpha()}
    assert assigned == ALPHA2 and len(ALPHA2) == 249


def test_every_preset_code_is_assigned():
    assert set(EEA_UK_CH) <= ALPHA2 and len(set(EEA_UK_CH)) == len(EEA_UK_CH)


@given(st.one_of(st.text(max_size=12), st.from_regex(r"[A-Za-z]{2}(-[A-Za-z0-9]{0,4})?", fullmatch=True)))
def test_any_text_is_a_valid_code_or_one_value_error(text):
    try:
        code = normalize_region(text)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert code == text.strip().upper() and code[:2] in ALPHA2
    assert len(code) == 2 or (code[2] == "-" and 2 <= len(code) - 2 <= 4)


@given(st.lists(st.sampled_from(sorted(ALPHA2)), max_size=20))
def test_valid_lists_parse_in_order_without_duplicates(codes):
    parsed = parse_regions(codes)
    assert parsed == list(dict.fromkeys(codes)) and parse_regions(", ".join(codes) or "FR") == (parsed or ["FR"])


def test_config_and_banner_carry_the_regions(sp):
    cfg = sp.consent.config("en")
    assert cfg["regions"] == [] and cfg["saleRegions"] == ["US"]
    assert 'data-sp-region="US-CA"' in sp.consent.banner_html("en", region="us-ca")
    for unknown in (None, "", "XX", "T1", "EU", '"><script>'):  # CDN placeholders and junk: no region
        assert "data-sp-region" not in sp.consent.banner_html("en", region=unknown)


def test_banner_js_css_and_one_locale_stay_within_8_kb_gzip(sp):
    """The issue's budget: consent.js + consent.css + one language's configuration, gzip -9, at most 8 KB."""
    import gzip
    from importlib import resources

    static = resources.files("shopprivacy.consent.static")
    assets = static.joinpath("consent.js").read_bytes() + static.joinpath("consent.css").read_bytes()
    for lang in sorted(available_locales("shopprivacy.consent.static")):  # non-Latin scripts weigh most
        cfg = json.dumps(sp.consent.config(lang), ensure_ascii=False).encode()
        assert len(gzip.compress(assets + cfg, compresslevel=9, mtime=0)) <= 8192, lang
