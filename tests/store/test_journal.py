"""The erasure journal's store: where it lives by default, its settings, append-only entries, retention."""

from datetime import timedelta

import pytest

from shopprivacy import Settings, ShopPrivacy
from shopprivacy.errors import ConfigurationError, InvalidInput
from shopprivacy.store import ErasureJournal, ErasureJournalSettings, Store
from shopprivacy.store.journal import advance, applied
from shopprivacy.testing import FakeClock


@pytest.mark.parametrize(("database", "journal"), [
    ("sqlite:///shop.db", "sqlite:///shop.erasures.db"),
    ("sqlite:////var/lib/shop/shop.db", "sqlite:////var/lib/shop/shop.erasures.db"),
    ("sqlite:////var/lib/shop/data", "sqlite:////var/lib/shop/data.erasures.db"),
    ("sqlite:///:memory:", None),
    ("sqlite://", None),
    ("postgresql+psycopg://shop@db:5432/shop", None),
])
def test_the_default_place_of_the_journal(database, journal):
    assert ErasureJournalSettings().resolve(database) == journal
    assert ErasureJournalSettings(url="sqlite:////j.db").resolve(database) == "sqlite:////j.db"


def test_postgresql_without_a_journal_url_has_none():
    sp = ShopPrivacy(Settings(database_url="postgresql+psycopg://shop@db:5432/shop"))
    assert sp.erasure_journal is None


def test_settings_from_the_environment_with_did_you_mean():
    s = Settings.from_env({"SHOPPRIVACY_ERASURE_JOURNAL__URL": "sqlite:////j.db",
                           "SHOPPRIVACY_ERASURE_JOURNAL__KEEP_DAYS": "30",
                           "SHOPPRIVACY_RIGHTS__ERASURE_GRACE_MINUTES": "15"})
    assert s.erasure_journal.url == "sqlite:////j.db" and s.erasure_journal.keep_days == 30
    assert s.rights.erasure_grace_minutes == 15
    with pytest.raises(ConfigurationError, match="did you mean SHOPPRIVACY_ERASURE_JOURNAL__URL") as exc:
        Settings.from_env({"SHOPPRIVACY_ERASURE_JOURNAL__ULR": "sqlite:////j.db"})
    assert "\n" not in str(exc.value)
    with pytest.raises(ConfigurationError, match="did you mean SHOPPRIVACY_RIGHTS__ERASURE_GRACE_MINUTES"):
        Settings.from_env({"SHOPPRIVACY_RIGHTS__ERASURE_GRACE_MINUTE": "15"})
    with pytest.raises(ConfigurationError, match="must be a database URL other than the SDK's"):
        Settings.from_env({"SHOPPRIVACY_ERASURE_JOURNAL__URL": "mysql://x"})
    with pytest.raises(ConfigurationError, match="SHOPPRIVACY_RIGHTS__ERASURE_GRACE_MINUTES"):
        Settings.from_env({"SHOPPRIVACY_RIGHTS__ERASURE_GRACE_MINUTES": "-1"})


def test_entries_append_in_order_and_old_ones_are_purged(tmp_path, store):
    clock = FakeClock()
    journal = ErasureJournal(Store.from_url(f"sqlite:///{tmp_path / 'j.db'}"), keep_days=10, clock=clock)
    assert journal.last_seq() == 0
    first = journal.append("shred", pseudonym="p" * 64, key_id="k1")
    clock.advance(days=11)
    second = journal.append("erase", pseudonym="p2", request_id="rr_1")
    assert second > first and [e.seq for e in journal.after(0)] == [first, second]
    assert journal.after(first)[0].request_id == "rr_1"
    assert journal.purge(clock()) == 1
    clock.advance(days=11)
    assert journal.purge(clock()) == 0  # the newest entry stays, so numbers never start again
    assert journal.last_seq() == second
    with pytest.raises(InvalidInput):
        journal.append("drop", pseudonym="p")
    with pytest.raises(InvalidInput):
        journal.append("shred", pseudonym="")
    journal.store.dispose()


def test_the_mark_only_grows(store):
    clock = FakeClock()
    with store.begin() as conn:
        assert applied(conn) == 0
        advance(conn, 5, clock())
        advance(conn, 3, clock() + timedelta(seconds=1))
        assert applied(conn) == 5
