"""The age gate: the declared minimum age per country, stored as "over the threshold" and when, never the date."""

from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from shopprivacy import ShopPrivacy
from shopprivacy.declaration import DeclarationSettings
from shopprivacy.declaration.age import AgeSource
from shopprivacy.declaration.tables import age_confirmations
from shopprivacy.errors import InvalidInput, UnderAge
from shopprivacy.rights.model import Subject
from shopprivacy.testing import FakeClock

EXAMPLE = (Path(__file__).parent / "example.toml").read_text()
CHILDREN = "\n[children]\nminimum_age = 16\nby_country = { FR = 15, ES = 14 }\n"


@pytest.fixture
def asp(settings, store, tmp_path):
    path = tmp_path / "declaration.toml"
    path.write_text(EXAMPLE + CHILDREN)
    clock = FakeClock(datetime(2026, 12, 1, 12, tzinfo=timezone.utc))
    app = ShopPrivacy(settings.model_copy(update={"declaration": DeclarationSettings(file=path)}), store=store,
                      clock=clock)
    yield app
    app.close()


def test_thresholds_per_country(asp):
    gate = asp.declaration.age_gate
    assert (gate.minimum("FR"), gate.minimum("es"), gate.minimum("DE"), gate.minimum()) == (15, 14, 16, 16)


def test_a_birth_date_is_checked_and_dropped_only_over_the_threshold_is_kept(asp):
    gate = asp.declaration.age_gate
    done = gate.confirm("jane@example.com", {"sp_birth_date": "2011-12-01"}, "FR")  # 15 today
    assert (done.threshold, done.method, done.country) == (15, "birth_date", "FR")
    with asp.store.begin(write=False) as conn:
        [row] = conn.execute(select(age_confirmations)).mappings().all()
    assert "2011" not in str(dict(row)) and "jane" not in str(dict(row))
    with pytest.raises(UnderAge, match="minimum age of 15"):
        gate.confirm("kid@example.com", {"sp_birth_date": "2011-12-02"}, "FR")  # 15 tomorrow
    assert gate.confirmation("kid@example.com") is None
    assert gate.confirmation("JANE@example.com ").threshold == 15


def test_the_self_declared_checkbox_and_its_field(asp):
    gate = asp.declaration.age_gate
    html = gate.field_html("ES")
    assert 'name="sp_age_confirm"' in html and "at least 14 years old" in html and "required" in html
    assert gate.confirm("c_42", {"sp_age_confirm": "on"}, "ES").method == "self_declared"
    with pytest.raises(UnderAge) as err:
        gate.confirm("c_43", {}, "ES")
    assert "14 years old" in gate.refusal(err.value)


def test_customer_ids_are_exact_and_e_mail_addresses_ignore_case(asp):
    gate = asp.declaration.age_gate
    gate.confirm("Cust-AB1", {"sp_age_confirm": "1"}, "FR")
    assert gate.confirmation("Cust-AB1").threshold == 15
    assert gate.confirmation("cust-ab1") is None  # another customer, whose id differs only in case
    gate.confirm("cust-ab1", {"sp_age_confirm": "1"}, "ES")
    assert (gate.confirmation("Cust-AB1").country, gate.confirmation("cust-ab1").country) == ("FR", "ES")
    assert gate.forget("cust-ab1") and gate.confirmation("Cust-AB1").country == "FR"
    gate.confirm("Jane.Doe@Example.COM", {"sp_age_confirm": "1"}, "ES")
    assert gate.confirmation(" jane.doe@example.com").country == "ES"  # the same address
    assert gate.forget("JANE.DOE@example.com") and gate.confirmation("Jane.Doe@Example.COM") is None
    gate.confirm("Straße@Example.com", {"sp_age_confirm": "1"}, "FR")  # found as the rights request spells it
    assert AgeSource(gate).find(Subject(email="strasse@example.com")) == 1


@given(st.dictionaries(st.sampled_from(["sp_birth_date", "sp_age_confirm", "x"]), st.text(max_size=20), max_size=3))
def test_any_form_is_accepted_or_refused_cleanly(form):
    from shopprivacy.declaration.age import AgeGate
    from shopprivacy.declaration.model import Children

    gate = AgeGate(Children(), store=None, keyring=None, clock=lambda: datetime(2026, 1, 1, tzinfo=timezone.utc))
    try:
        method, threshold = gate.check_form(form, "DE")
    except (UnderAge, InvalidInput):
        return
    assert method in ("birth_date", "self_declared") and threshold == 16


def test_the_confirmation_is_exported_and_erased_with_the_customer(asp):
    asp.declaration.age_gate.confirm("jane@example.com", {"sp_age_confirm": "1"}, "FR")
    source = next(s for s in asp.rights.sources() if s.name == "age_confirmation")
    subject = Subject(email="jane@example.com")
    [item] = source.export(subject)["confirmations"]
    assert item["over_age"] == 15 and item["method"] == "self_declared"
    assert source.erase(subject).rows == 1
    assert source.export(subject) == {} and source.erase(subject).rows == 0


def test_changing_declared_cookies_makes_the_banner_ask_again(settings, store, tmp_path):
    path = tmp_path / "declaration.toml"
    path.write_text(EXAMPLE)

    def policy_version():
        app = ShopPrivacy(settings.model_copy(update={"declaration": DeclarationSettings(file=path)}), store=store)
        try:
            return app.consent.policy.version
        finally:
            app.close()

    before = policy_version()
    assert policy_version() == before
    path.write_text(EXAMPLE + '\n[[cookies]]\nname = "_fbp"\ncategory = "marketing"\nprovider = "Meta"\n'
                              'lifetime = "90 days"\npurpose = "Ads"\n')
    assert policy_version() != before  # a stored choice of the old version is no consent: the banner asks again
