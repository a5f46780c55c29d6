"""Drift between the declaration and what the shop runs: each kind found, named and explained."""

from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table

from shopprivacy import ShopPrivacy
from shopprivacy.cli import main
from shopprivacy.declaration import DRIFT_KINDS, DeclarationSettings, parse_declaration
from shopprivacy.declaration.drift import check
from shopprivacy.doctor import _declaration
from shopprivacy.retention.rules import Rule
from shopprivacy.rights import TableSource

HERE = Path(__file__).parent
EXAMPLE = (HERE / "example.toml").read_text()
ORDERS = Rule(name="orders", entity="sql", database_url="sqlite://", table="orders", anchor="completed_at",
              keep_for="7 years", action="anonymise", fields=("email",))
CUSTOMERS = Rule(name="customers", entity="sql", database_url="sqlite://", table="customers", keep_for="3y")


def _kinds(found):
    return sorted(d.kind for d in found)


def test_no_drift_when_everything_agrees():
    decl = parse_declaration(EXAMPLE)
    sources = [type("S", (), {"name": "orders"})(), type("S", (), {"name": "customers"})()]
    assert check(decl, rules=[ORDERS, CUSTOMERS], sources=sources, cookies_seen=["_ga_ABC", "sp_consent"]) == []


def test_each_kind_of_drift_is_found():
    decl = parse_declaration(EXAMPLE.replace("contract_date = 2025-01-10\n", "").replace('transfer = "dpf"\n', "")
                             .replace('retention = ["customers"]\n', ""))
    newsletter = Rule(name="newsletter_log", entity="sql", database_url="sqlite://", table="mail_log",
                      keep_for="90d")
    found = check(decl, rules=[ORDERS, newsletter], sources=[type("S", (), {"name": "orders"})()],
                  cookies_seen=["_ga_1", "_fbp"])
    assert _kinds(found) == sorted(["retention_undeclared", "retention_missing", "rights_source_missing",
                                    "cookie_undeclared", "processor_contract", "processor_transfer"])
    text = "\n".join(d.message for d in found)
    assert "retention rule 'newsletter_log' acts on table 'mail_log'" in text
    assert "data 'contact' has no retention" in text
    assert "shop's table 'customers', which no rights source covers" in text
    assert "the shop set the cookie '_fbp'" in text and "'_ga_1'" not in text
    assert "processor 'mail' (Mailgun Technologies) has no contract_date" in text
    assert "is in US, outside the EEA, without a transfer mechanism" in text
    misspelt = check(parse_declaration(EXAMPLE.replace('retention = ["orders"]', 'retention = ["order"]')),
                     rules=[ORDERS, CUSTOMERS])
    assert [d.message for d in misspelt] == ["data 'orders' names retention rule 'order', which is not loaded; "
                                             "did you mean 'orders'?"]
    assert set(_kinds(found)) | {"retention_unknown_rule"} == set(DRIFT_KINDS)


def test_a_table_source_or_a_django_model_covers_its_table():
    table = Table("customers", MetaData(), Column("id", String, primary_key=True), Column("email", String))
    decl = parse_declaration(EXAMPLE)
    source = TableSource("accounts", "sqlite://", table, subject_column="email", fields=("email",))
    meta = type("Meta", (), {"db_table": "orders"})
    model_source = type("ModelSource", (), {"name": "store", "model": type("M", (), {"_meta": meta})})()
    assert check(decl, rules=[ORDERS, CUSTOMERS], sources=[source, model_source]) == []


@pytest.fixture
def dsp(settings, store, tmp_path):
    path = tmp_path / "declaration.toml"
    path.write_text(EXAMPLE)
    app = ShopPrivacy(settings.model_copy(update={"declaration": DeclarationSettings(file=path)}), store=store)
    app.retention.add(ORDERS, CUSTOMERS)
    yield app
    app.close()


def test_cookies_seen_are_remembered_by_name_and_doctor_reports_drift(dsp):
    assert [f.level for f in _declaration(dsp)] == ["ok"]
    dsp.declaration.observe_headers(["_fbp=fb.1.123; Path=/; Max-Age=7776000", "sp_consent=abc; HttpOnly", "junk"])
    dsp.declaration.observe(["_fbp"])
    assert dsp.declaration.observed() == ["_fbp", "sp_consent"]
    findings = list(_declaration(dsp))
    assert [f.level for f in findings] == ["warning", "warning"]
    assert "1 drift(s)" in findings[0].message and "'_fbp'" in findings[1].message


def test_declaration_commands(dsp, capsys, monkeypatch):
    monkeypatch.setattr("shopprivacy.cli.facade", lambda args: dsp)
    assert main(["declaration", "check"]) == 1  # the shop's tables have no rights source in this facade
    assert "rights_source_missing" in capsys.readouterr().out
    assert main(["declaration", "record", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("Controller,Purpose,Legal basis")
    assert main(["declaration", "notice", "--format", "md", "--locale", "fr"]) == 0
    assert "Coordonnées" in capsys.readouterr().out
    assert main(["declaration", "cookies", "--format", "md"]) == 0


def test_a_shop_without_a_declaration_keeps_working(sp, capsys, monkeypatch):
    assert sp.declaration.current is None
    assert [f.level for f in _declaration(sp)] == ["ok"]
    monkeypatch.setattr("shopprivacy.cli.facade", lambda args: sp)
    assert main(["declaration", "notice"]) == 2
    assert "SHOPPRIVACY_DECLARATION__FILE" in capsys.readouterr().err
    assert sp.consent.settings.categories["analytics"].cookies == []


def test_declared_cookies_reach_the_banners_categories(dsp):
    assert [c.name for c in dsp.consent.settings.categories["analytics"].cookies] == ["_ga*"]


def test_doctor_finds_each_kind_of_drift(settings, store, tmp_path):
    """Every kind, through the doctor's declaration check, with the rights sources of an integration's facade."""
    path = tmp_path / "declaration.toml"
    path.write_text(EXAMPLE.replace("contract_date = 2025-01-10\n", "").replace('transfer = "dpf"\n', "")
                    .replace('retention = ["customers"]\n', "")
                    .replace('retention = ["orders"]', 'retention = ["order"]'))
    app = ShopPrivacy(settings.model_copy(update={"declaration": DeclarationSettings(file=path)}), store=store)
    try:
        app.retention.add(ORDERS, Rule(name="mail_log", entity="sql", database_url="sqlite://", table="mail_log",
                                       keep_for="90d"))
        app.declaration.observe(["_fbp"])
        orders = Table("orders", MetaData(), Column("id", String, primary_key=True), Column("email", String))
        app.rights.register_source(TableSource("orders", "sqlite://", orders, subject_column="email",
                                               fields=("email",)))
        findings = list(_declaration(app, lambda: app))
        text = "\n".join(f.message for f in findings)
        assert findings[0].level == "warning" and "7 drift(s)" in findings[0].message
        for expected in ("acts on table 'mail_log'", "has no retention", "names retention rule 'order'",
                         "'customers', which no rights source covers", "cookie '_fbp'", "has no contract_date",
                         "without a transfer mechanism"):
            assert expected in text, expected
        without = list(_declaration(app))  # run without an integration: the rights sources are not known
        assert "no rights source covers" not in "\n".join(f.message for f in without)
    finally:
        app.close()
