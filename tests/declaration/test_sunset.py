"""The inactivity sunset: inactive contacts leave the marketing lists, then their address is erased."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from shopprivacy import ShopPrivacy
from shopprivacy.declaration import DeclarationError, DeclarationSettings, parse_declaration
from shopprivacy.errors import InvalidInput
from shopprivacy.testing import FakeClock

EXAMPLE = (Path(__file__).parent / "example.toml").read_text()
SUNSET = '\n[sunset]\ninactive_for = "24 months"\nerase_after = "36 months"\n'
START = datetime(2024, 1, 10, 9, tzinfo=timezone.utc)


@pytest.fixture
def ssp(settings, store, tmp_path):
    path = tmp_path / "declaration.toml"
    path.write_text(EXAMPLE + SUNSET)
    clock = FakeClock(START)
    app = ShopPrivacy(settings.model_copy(update={"declaration": DeclarationSettings(file=path)}), store=store,
                      clock=clock)
    app.clock_ = clock
    yield app
    app.close()


def _subscribe(app, address):
    link = app.email.request_opt_in(address, "newsletter", source="test", consent_text_version="v1")
    app.email.confirm_opt_in(link.split("t=", 1)[1])
    assert app.email.state(address, "newsletter") == "subscribed"


def test_the_rule_is_validated():
    with pytest.raises(DeclarationError, match="erase_after must be longer than inactive_for"):
        parse_declaration(EXAMPLE + '\n[sunset]\ninactive_for = "24 months"\nerase_after = "12 months"\n')
    with pytest.raises(DeclarationError, match="at least 30 days"):
        parse_declaration(EXAMPLE + '\n[sunset]\ninactive_for = "2d"\n')


def test_inactive_contacts_leave_the_lists_then_are_erased_active_ones_stay(ssp):
    _subscribe(ssp, "quiet@example.com")
    _subscribe(ssp, "reader@example.com")
    ssp.clock_.advance(days=400)
    ssp.declaration.sunset.record("reader@example.com", "clicked")
    ssp.clock_.advance(days=400)  # quiet: 800 days since opt-in; reader: 400 since the click
    report = ssp.run_due()
    assert report.tasks["declaration"] == {"sunset_removed": 1, "sunset_erased": 0}
    assert ssp.email.state("quiet@example.com", "newsletter") == "unsubscribed"
    assert ssp.email.state("reader@example.com", "newsletter") == "subscribed"
    [event] = [e for e in ssp.email.subjects.history("quiet@example.com") if e.get("source") == "sunset"]
    assert event["action"] == "unsubscribed"
    assert ssp.run_due().tasks["declaration"] == {"sunset_removed": 0, "sunset_erased": 0}  # idempotent
    ssp.clock_.advance(days=400)  # quiet: 1200 days without interaction
    assert ssp.run_due().tasks["declaration"] == {"sunset_removed": 1, "sunset_erased": 1}  # reader: 800 days
    assert ssp.email.subjects.on_file("quiet@example.com")["address"] == "[crypto-shredded]"
    assert ssp.email.is_suppressed("quiet@example.com", None)  # never mailed again
    assert ssp.email.subjects.on_file("reader@example.com") is not None
    assert ssp.email.state("reader@example.com", "newsletter") == "unsubscribed"
    assert [e.meta for e in ssp.audit.entries(action="declaration.sunset")][-1] == {"removed": 1, "erased": 1}


def test_interactions_are_checked(ssp):
    with pytest.raises(InvalidInput, match="an interaction is one of"):
        ssp.declaration.sunset.record("a@example.com", "sneezed")


def test_without_a_sunset_nothing_happens(sp):
    _subscribe(sp, "quiet@example.com")
    assert sp.declaration.sunset.run(datetime(2040, 1, 1, tzinfo=timezone.utc)).removed == 0
