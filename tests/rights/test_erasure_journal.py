"""The erasure journal: backup -> erase -> restore -> doctor warns -> replay -> ShreddedError, on SQLite and
PostgreSQL (a table-level snapshot on both, a copy of the SQLite file too); a replay killed half-way resumes."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, insert, select

from shopprivacy import ShopPrivacy
from shopprivacy.doctor import run_checks
from shopprivacy.email.tables import email_subjects
from shopprivacy.errors import ConfigurationError, ShreddedError
from shopprivacy.rights.settings import RightsSettings
from shopprivacy.store.journal import applied, entries
from shopprivacy.testing import PG_ENV, fresh_database_url

from .conftest import add_orders, orders, orders_source


@pytest.fixture
def journal_url(tmp_path):
    folder = tmp_path / "journal"
    folder.mkdir()
    with fresh_database_url(folder) as url:
        yield url


@pytest.fixture
def jsettings(settings, db_url, journal_url):
    return settings.model_copy(update={
        "platform_options": {"database_url": db_url}, "rights": RightsSettings(),
        "erasure_journal": settings.erasure_journal.model_copy(update={"url": journal_url})})


def facade(jsettings, store, clock, mailbox):
    app = ShopPrivacy(jsettings, store=store, clock=clock)
    app.rights.set_sender(mailbox)
    return app


def snapshot(url):
    """Every table's rows (the SDK's, the reference shop's, the shop's own): a whole-database backup."""
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in meta.sorted_tables}
    engine.dispose()
    return rows


def restore(url, rows):
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for t in reversed(meta.sorted_tables):
            conn.execute(t.delete())
        for t in meta.sorted_tables:
            if rows.get(t.name):
                conn.execute(insert(t), rows[t.name])
    engine.dispose()


def doctor_env(jsettings, db_url):
    return {"SHOPPRIVACY_DATABASE_URL": db_url, "SHOPPRIVACY_KEYSET": jsettings.keyset.get_secret_value(),
            "SHOPPRIVACY_ERASURE_JOURNAL__URL": jsettings.erasure_journal.url,
            "SHOPPRIVACY_PLATFORM_OPTIONS": json.dumps({"database_url": db_url})}


def erasures_finding(env):
    return next(f for f in run_checks(env) if f.check == "erasures")


def erase_jane(app, shop_engine):
    cid = app.adapter.add_customer("jane@example.com", first_name="Jane", phone="+33612345678")
    add_orders(shop_engine, app, "jane@example.com", 2)
    app.email.suppress("jane@example.com", "newsletter")
    with shop_engine.connect() as conn:
        phone = conn.execute(select(orders.c.phone_token).where(orders.c.id == "o0")).scalar_one()
    return cid, phone


def run_erasure(app, cid):
    er = app.rights.open("erase", {"email": "jane@example.com", "customer_id": cid}, verified_by="shopify")
    app.rights.process(er.id)
    app.outbox.deliver_due()
    assert app.rights.get(er.id).state == "done"
    return er


def decrypt_phone(app, token):
    return app.fields.decrypt(token, context="shop_orders.phone_token", row="o0")


def test_backup_erase_restore_doctor_replay(jsettings, store, clock, mailbox, shop_engine, db_url):
    app = facade(jsettings, store, clock, mailbox)
    app.rights.register_source(orders_source(shop_engine, app))
    cid, phone = erase_jane(app, shop_engine)
    env = doctor_env(jsettings, db_url)
    assert erasures_finding(env).level == "ok"
    backup = snapshot(db_url)

    run_erasure(app, cid)
    with pytest.raises(ShreddedError):
        decrypt_phone(app, phone)
    app.close()

    restore(db_url, backup)
    again = facade(jsettings, store, clock, mailbox)  # a process started on the restored database
    assert decrypt_phone(again, phone) == "+33612345678"  # what the journal is for
    assert not again.email.is_suppressed("jane@example.com")  # the erasure's suppression is gone too
    assert again.adapter.customer(cid)["first_name"] == "Jane"
    finding = erasures_finding(env)
    assert finding.level == "warning" and "behind its erasure journal" in finding.message
    mark, last = again.rights.erasures.status()
    assert mark < last

    counts = again.rights.erasures.replay()
    assert counts["shred"] >= 2 and counts["erase"] >= 1 and counts["platform"] == 1
    with pytest.raises(ShreddedError):
        decrypt_phone(again, phone)
    with pytest.raises(ShreddedError):  # nothing new is encrypted for the erased subject either
        again.fields.encrypt("x", context="shop_orders.phone_token", row="o9", subject="c_1")
    assert again.email.is_suppressed("jane@example.com")  # never mailed again
    again.outbox.deliver_due()  # the platform's erasure, queued again
    assert again.adapter.customer(cid)["first_name"] is None
    assert erasures_finding(env).level == "ok"
    assert again.rights.erasures.replay() == {"shred": 0, "shred_all": 0, "erase": 0, "platform": 0}
    actions = [e.action for e in again.audit.entries()]
    assert "rights.erasure_replayed" in actions and "rights.platform_erasure_replayed" in actions
    again.audit.verify()
    again.close()


def test_the_journal_holds_no_personal_data(jsettings, store, clock, mailbox, shop_engine):
    app = facade(jsettings, store, clock, mailbox)
    cid, _ = erase_jane(app, shop_engine)
    run_erasure(app, cid)
    engine = create_engine(jsettings.erasure_journal.url)
    with engine.connect() as conn:
        rows = conn.execute(select(entries)).all()
    engine.dispose()
    text = json.dumps([[str(v) for v in r] for r in rows])
    assert {r.kind for r in rows} == {"shred", "erase", "platform"}
    for clear in ("jane", "example.com", cid, "33612345678", "Jane"):
        assert clear not in text
    app.close()


def test_a_restored_sqlite_file_copy(jsettings, store, clock, mailbox, shop_engine, db_url, tmp_path):
    if os.environ.get(PG_ENV):
        pytest.skip("a file copy is SQLite's backup; PostgreSQL's is the snapshot test above")
    app = facade(jsettings, store, clock, mailbox)
    app.rights.register_source(orders_source(shop_engine, app))
    cid, phone = erase_jane(app, shop_engine)
    path = Path(db_url.removeprefix("sqlite:///"))
    copy = tmp_path / "backup.db"
    with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    run_erasure(app, cid)
    app.close()
    store.dispose()
    shop_engine.dispose()
    with sqlite3.connect(copy) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    again = facade(jsettings, store, clock, mailbox)
    assert decrypt_phone(again, phone) == "+33612345678"
    assert again.rights.erasures.replay()["shred"] >= 1
    with pytest.raises(ShreddedError):
        decrypt_phone(again, phone)
    again.close()


KILLER = """
import os, signal, sys
from shopprivacy import ShopPrivacy
from shopprivacy.rights import replay

applied = []
original = replay.ErasureReplay._apply

def apply_then_die(self, conn, entry):
    if applied:
        os.kill(os.getpid(), signal.SIGKILL)  # after the first entry committed, mid-way through the second
    applied.append(entry.seq)
    original(self, conn, entry)

replay.ErasureReplay._apply = apply_then_die
ShopPrivacy.from_env().rights.erasures.replay()
"""


def test_a_replay_killed_half_way_resumes(jsettings, store, clock, mailbox, shop_engine, db_url):
    app = facade(jsettings, store, clock, mailbox)
    app.rights.register_source(orders_source(shop_engine, app))
    cid, phone = erase_jane(app, shop_engine)
    backup = snapshot(db_url)
    run_erasure(app, cid)
    app.close()
    restore(db_url, backup)
    _, last = ShopPrivacy(jsettings, store=store).rights.erasures.status()
    assert last >= 3

    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPPRIVACY_")}
    env.update(doctor_env(jsettings, db_url), PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", KILLER], env=env, capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    with store.begin(write=False) as conn:
        mark = applied(conn)
    assert 0 < mark < last  # the first entry is applied and recorded, the second rolled back

    again = facade(jsettings, store, clock, mailbox)
    counts = again.rights.erasures.replay()
    assert sum(counts.values()) == last - mark
    with store.begin(write=False) as conn:
        assert applied(conn) == last
    with pytest.raises(ShreddedError):
        decrypt_phone(again, phone)
    again.close()


def test_a_journal_in_the_sdk_database_is_refused(settings, db_url):
    bad = settings.model_copy(update={"erasure_journal": settings.erasure_journal.model_copy(update={"url": db_url})})
    with pytest.raises(ConfigurationError, match="ERASURE_JOURNAL__URL"):
        ShopPrivacy(bad).erasure_journal  # noqa: B018


def test_the_erasures_commands(jsettings, store, clock, mailbox, shop_engine, db_url, capsys):
    from shopprivacy.cli import main

    env = doctor_env(jsettings, db_url)
    app = facade(jsettings, store, clock, mailbox)
    app.rights.register_source(orders_source(shop_engine, app))
    cid, phone = erase_jane(app, shop_engine)
    backup = snapshot(db_url)
    run_erasure(app, cid)
    app.close()
    assert main(["erasures", "status"], env) == 0
    assert "up to date" in capsys.readouterr().out
    restore(db_url, backup)
    assert main(["erasures", "status"], env) == 1
    assert "shopprivacy erasures replay" in capsys.readouterr().out
    assert main(["erasures", "replay"], env) == 0
    out = capsys.readouterr().out
    assert "shred" in out and "run-due" in out and "jane" not in out
    assert main(["erasures", "replay"], env) == 0
    assert "nothing to replay" in capsys.readouterr().out
    after = ShopPrivacy(jsettings, store=store)
    with pytest.raises(ShreddedError):
        decrypt_phone(after, phone)
    after.close()


def test_a_shop_redaction_is_replayed(jsettings, store, clock, mailbox, db_url):
    app = facade(jsettings, store, clock, mailbox)
    token = app.fields.encrypt("+33612345678", context="shop.phone", row="1", subject="c_1")
    app.email.suppress("jane@example.com")
    backup = snapshot(db_url)
    app.rights.redact_shop(external_id="shopify:redact-1")
    app.close()
    restore(db_url, backup)
    again = facade(jsettings, store, clock, mailbox)
    assert again.fields.decrypt(token, context="shop.phone", row="1") == "+33612345678"
    assert again.rights.erasures.replay()["shred_all"] == 1
    with pytest.raises(ShreddedError):
        again.fields.decrypt(token, context="shop.phone", row="1")
    with store.begin(write=False) as conn:
        assert all(r.address is None for r in conn.execute(select(email_subjects)))
    again.close()


def test_doctor_names_the_journal_or_its_absence(settings, store, db_url):
    env = {"SHOPPRIVACY_DATABASE_URL": db_url, "SHOPPRIVACY_KEYSET": settings.keyset.get_secret_value()}
    finding = erasures_finding(env)
    if os.environ.get(PG_ENV):  # PostgreSQL has no default place for the journal
        assert finding.level == "warning" and "no erasure journal" in finding.message
    else:  # SQLite: a file next to the database
        assert finding.level == "ok" and "sp.erasures.db" in finding.message
