"""``sp.processors``: the declaration, restrictions, opt-outs, GPC and consent decide a share; shares are listed
in the person's export."""

from pathlib import Path

import pytest

from shopprivacy import ShopPrivacy
from shopprivacy.declaration import DeclarationSettings
from shopprivacy.errors import InvalidInput
from shopprivacy.rights.model import Subject

EXAMPLE = (Path(__file__).parent / "example.toml").read_text()
ADS = ('\n[processors.ads]\nname = "Ad Network"\ncountry = "IE"\npurposes = ["analytics"]\ndata = ["consent"]\n'
       'transfer = "eea"\ncontract_date = 2026-01-01\n')
JANE = {"email": "jane@example.com"}


@pytest.fixture
def psp(settings, store, tmp_path):
    path = tmp_path / "declaration.toml"
    path.write_text(EXAMPLE + ADS)
    app = ShopPrivacy(settings.model_copy(update={"declaration": DeclarationSettings(file=path)}), store=store)
    yield app
    app.close()


def _place(app, identity, effect):
    with app.store.begin() as conn:
        app.restrictions.place(conn, app.restrictions.keys(identity), effect, request_id=None, now=app.clock())


def _subscribe(app, address, list_id="newsletter"):
    link = app.email.request_opt_in(address, list_id, source="test", consent_text_version="v1")
    app.email.confirm_opt_in(link.split("t=", 1)[1])


def test_only_declared_recipients_for_their_purposes(psp):
    assert psp.processors.may_share("carrier", JANE, "selling")
    refused = psp.processors.may_share("carrier", JANE, "newsletter")
    assert not refused and refused.reason == "the declaration does not list carrier for newsletter"
    with pytest.raises(InvalidInput, match="processor 'carrer' is not in the declaration; did you mean 'carrier'"):
        psp.processors.may_share("carrer", JANE, "selling")
    with pytest.raises(InvalidInput, match="purpose 'seling'.*did you mean 'selling'"):
        psp.processors.may_share("carrier", JANE, "seling")


def test_consent_to_the_list_or_the_banner_category_is_needed(psp):
    assert psp.processors.may_share("mail", JANE, "newsletter").reason == "no opt-in to the list newsletter"
    _subscribe(psp, JANE["email"])
    assert psp.processors.may_share("mail", JANE, "newsletter")
    assert psp.processors.may_share("ads", JANE, "analytics").reason == "no consent to analytics"
    state = psp.consent.state({}, {})
    assert not psp.processors.may_share("ads", JANE, "analytics", consent=state)


def test_restriction_objection_opt_out_and_gpc_refuse(psp):
    _subscribe(psp, JANE["email"])
    assert psp.processors.may_share("mail", JANE, "newsletter", gpc=True).reason.startswith("Global Privacy Control")
    _place(psp, JANE, "opt_out_sale")
    assert "opted out of the sale" in psp.processors.may_share("mail", JANE, "newsletter").reason
    _place(psp, {"email": "bob@example.com"}, "restrict")
    assert "restricted processing" in psp.processors.may_share("carrier", {"email": "bob@example.com"},
                                                               "selling").reason


def test_shares_are_recorded_and_listed_in_the_export(psp):
    psp.processors.record_share("carrier", JANE, "selling")
    psp.processors.record_share("carrier", {"email": "JANE@example.com "}, "selling")
    psp.processors.record_share("mail", {"customer_id": "gid://shopify/Customer/7"}, "newsletter")
    source = next(s for s in psp.rights.sources() if s.name == "recipients")
    out = source.export(Subject(email="jane@example.com", customer_id="gid://shopify/Customer/7"))
    assert [(r["recipient"], r["purpose"], r["times"]) for r in out["recipients"]] == [
        ("Colissimo (La Poste)", "selling", 2), ("Mailgun Technologies", "newsletter", 1)]
    assert source.export(Subject(email="bob@example.com")) == {}
    with pytest.raises(InvalidInput):
        psp.processors.record_share("carrier", {}, "selling")
