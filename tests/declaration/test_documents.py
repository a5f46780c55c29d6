"""The documents generated from a declaration: notice, record of processing, cookie table."""

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.declaration import DeclarationError, parse_declaration
from shopprivacy.declaration.blocks import Para, Table, html, markdown
from shopprivacy.declaration.documents import Generator
from shopprivacy.declaration.loader import digest
from shopprivacy.retention.rules import Rule

EXAMPLE = (Path(__file__).parent / "example.toml").read_text()
RULES = [Rule(name="orders", entity="sql", database_url="sqlite://", table="orders", anchor="completed_at",
              keep_for="7 years", action="anonymise", fields=("email",)),
         Rule(name="customers", entity="sql", database_url="sqlite://", table="customers", anchor="last_order_at",
              keep_for="3 years")]


def _gen(text=EXAMPLE, **kw):
    decl = parse_declaration(text)
    return Generator(decl, digest(decl), rules=RULES, portal_url="https://shop.example/privacy/rights", **kw)


def test_the_notice_says_who_what_why_how_long_who_receives_cookies_and_rights():
    doc = _gen().notice()
    md = doc.markdown
    for expected in ("Example Shop Ltd", "privacy@shop.example", "| Selling and delivering your orders |",
                     "Performing our contract with you (Art. 6(1)(b))", "| Orders and invoices | 7 years, then",
                     "3 years after the end of the consent", "Mailgun Technologies | US | Newsletter | EU-US Data",
                     "\\_ga\\*", "https://shop.example/privacy/rights", "Ours is CNIL", "Version 2026-12-01"):
        assert expected in md, expected
    assert doc.version == "2026-12-01" and doc.declaration_digest == digest(parse_declaration(EXAMPLE))
    assert "<h2>Who is responsible</h2>" in doc.html and '<th scope="col">Legal basis</th>' in doc.html
    assert doc.digest != _gen(EXAMPLE.replace("Colissimo", "Chronopost")).notice().digest


def test_texts_follow_the_language_with_english_as_the_fallback():
    fr = _gen().notice("fr-CA")
    assert "Coordonnées" in fr.markdown  # the declaration's own French text
    assert "Contact details" in _gen().notice("de").markdown


def test_shop_texts_cannot_inject_markup_or_formulas():
    hostile = EXAMPLE.replace('name = "Orders and invoices"', 'name = "<script>alert(1)</script> | *x*"').replace(
        'name = "Mailgun Technologies"', 'name = "=HYPERLINK(\\"http://evil\\")"')
    gen = _gen(hostile)
    page = gen.notice().html
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "\\| \\*x\\*" in gen.notice().markdown
    rows = list(csv.reader(io.StringIO(gen.record().csv)))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)


def test_the_record_of_processing_has_one_row_per_purpose_with_the_art_30_columns():
    doc = _gen().record()
    rows = list(csv.DictReader(io.StringIO(doc.csv)))
    assert [r["Purpose"] for r in rows] == ["Selling and delivering your orders", "Accounting and tax", "Newsletter",
                                             "Measuring visits"]
    news = rows[2]
    assert news["Recipients"] == "Mailgun Technologies"
    assert news["Transfers outside the EEA"] == "Mailgun Technologies (US): EU-US Data Privacy Framework (Art. 45)"
    assert "customers.email" in news["Fields"] and "Example Shop Ltd" in news["Controller"]
    assert rows[0]["Transfers outside the EEA"] == "None"  # the carrier is in France
    assert "<table>" in doc.html and doc.markdown.startswith("# Record of processing activities")


def test_the_cookie_table():
    doc = _gen().cookie_table()
    assert "<td>_ga*</td><td>Analytics</td><td>Google</td><td>13 months</td>" in doc.html


def test_a_shop_template_replaces_the_layout(tmp_path):
    template = "# Our privacy promise\n\nWe are a small shop.\n\n$who\n\n$rights\n\n$version\n"
    doc = _gen(notice_template=template).notice()
    assert doc.markdown.startswith("# Our privacy promise") and "## Your rights" in doc.markdown
    assert "What we collect" not in doc.markdown
    assert "<h1>Our privacy promise</h1>" in doc.html and "<p>We are a small shop.</p>" in doc.html
    with pytest.raises(DeclarationError, match=r"unknown placeholder 'whom'.*\$who"):
        _gen(notice_template="$whom").notice()


@given(st.lists(st.text(max_size=30), min_size=1, max_size=4))
def test_blocks_escape_any_text(cells):
    out = html([Para(c) for c in cells] + [Table(tuple(cells), (tuple(cells),))])
    assert "<script" not in out.replace("&lt;script", "")
    md = markdown([Table(tuple(cells), (tuple(cells),))])
    assert md.count("\n") == 3  # header, rule and one row: no cell breaks the table
