"""The declaration file: validation with one-line errors that say how to fix them."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.declaration import DeclarationError, load_declaration, parse_declaration
from shopprivacy.declaration.loader import digest

EXAMPLE = (Path(__file__).parent / "example.toml").read_text()


def test_the_example_loads_and_its_digest_is_stable():
    decl = parse_declaration(EXAMPLE)
    assert decl.version == "2026-12-01" and decl.consent_categories == ["necessary", "analytics"]
    assert decl.data["contact"].name == {"en": "Contact details", "fr": "Coordonnées"}
    assert digest(decl) == digest(parse_declaration(EXAMPLE))
    assert digest(decl) != digest(parse_declaration(EXAMPLE.replace('version = "2026-12-01"', 'version = "2"')))


@pytest.mark.parametrize(("old", "new", "message"), [
    ('legal_basis = "contract"', 'legal_basis = "contrat"',
     "purposes.selling.legal_basis must be one of consent, contract, legal_obligation, vital_interests, "
     "public_task, legitimate_interests; did you mean 'contract'?"),
    ('data = ["contact", "orders"]', 'data = ["contacts", "orders"]',
     "purposes.selling.data names 'contacts', which is not declared; did you mean 'contact'?"),
    ('stored_in = "sdk"', 'stored_inn = "sdk"',
     "data.consent.stored_inn is not a known key; did you mean 'stored_in'?"),
    ('country = "US"', 'country = "EU"', "processors.mail.country: must be an ISO 3166-1 alpha-2 country code"),
    ('fields = ["orders.*"]', 'fields = ["orders"]', "'orders' is not a field: write 'table.column' or 'table.*'"),
    ('legal_basis = "contract"', 'legal_basis = "legitimate_interests"',
     "a purpose on legitimate interests must state the interest"),
    ('consent_category = "analytics"', 'consent_category = "analytic"', "did you mean 'analytics'?"),
    ('data = ["consent"]\n', 'data = ["orders"]\n', None),
])
def test_a_mistake_is_one_line_naming_the_place_and_the_fix(old, new, message):
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    if message is None:  # still valid
        parse_declaration(text)
        return
    with pytest.raises(DeclarationError) as err:
        parse_declaration(text, source="shop.toml")
    lines = str(err.value).splitlines()
    assert any(message in line for line in lines) and "Traceback" not in str(err.value)
    assert all(line.startswith("shop.toml: ") for line in lines)  # one line per problem


def test_data_that_serves_no_purpose_is_refused():
    text = EXAMPLE + '\n[data.spare]\nname = "Spare"\nfields = ["spare.*"]\nstored_in = "shop"\nkeep_for = "1y"\n'
    with pytest.raises(DeclarationError, match="data spare serve no purpose"):
        parse_declaration(text)


def test_unreadable_files_and_bad_toml(tmp_path):
    with pytest.raises(DeclarationError, match="cannot read the declaration file nope.toml.*SHOPPRIVACY_DECLARATION"):
        load_declaration(tmp_path / "nope.toml")
    with pytest.raises(DeclarationError, match="not valid TOML"):
        parse_declaration("version = ")


@given(st.text(max_size=300))
def test_any_text_is_a_declaration_or_a_declaration_error(text):
    try:
        parse_declaration(text)
    except DeclarationError as exc:
        assert str(exc)


@given(st.dictionaries(st.sampled_from(["version", "controller", "data", "purposes", "processors", "cookies", "x"]),
                       st.one_of(st.text(max_size=20), st.integers(), st.lists(st.text(max_size=5), max_size=3),
                                 st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)), max_size=6))
def test_any_structure_is_a_declaration_or_a_declaration_error(doc):
    from shopprivacy.declaration.loader import build_declaration

    try:
        build_declaration(doc)
    except DeclarationError as exc:
        assert str(exc)
