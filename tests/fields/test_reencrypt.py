import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from shopprivacy import Keyring, ShopPrivacy
from shopprivacy.errors import InvalidInput, NotFoundError
from shopprivacy.fields.reencrypt import reencrypt_column
from shopprivacy.store import Store
from shopprivacy.store.jobs import Jobs

customers = Table("shop_customers", MetaData(), Column("id", Integer, primary_key=True),
                  Column("email", String(500)))


def _seed(store, n, value=lambda i: f"user{i}@example.com"):
    customers.metadata.create_all(store.engine)
    with store.begin() as conn:
        conn.execute(insert(customers), [{"id": i, "email": value(i)} for i in range(1, n + 1)])


def _emails(store):
    with store.begin(write=False) as conn:
        return dict(conn.execute(select(customers.c.id, customers.c.email)).all())


def test_from_plaintext_then_rotation(sp, store):
    _seed(store, 25)
    with store.begin() as conn:
        conn.execute(insert(customers).values(id=26, email=None))
    report = reencrypt_column(sp.fields, sp.jobs, store, table="shop_customers", column="email", batch=7,
                              from_plaintext=True)
    assert (report.scanned, report.encrypted, report.unchanged) == (26, 25, 1)
    tokens = _emails(store)
    assert all(t is None or t.startswith("spf1.") for t in tokens.values())
    assert sp.fields.decrypt(tokens[3], context="shop_customers.email", row=3) == "user3@example.com"
    again = reencrypt_column(sp.fields, sp.jobs, store, table="shop_customers", column="email",
                             from_plaintext=True)
    assert again.encrypted == 0 and again.unchanged == 26  # tokens are never encrypted twice

    rotated = ShopPrivacy(sp.settings, store=store, keyring=Keyring(sp.keyring.keyset.rotate()))
    report = reencrypt_column(rotated.fields, rotated.jobs, store, table="shop_customers", column="email")
    assert report.reencrypted == 25
    new = _emails(store)
    assert all(t.split(".")[1] == rotated.keyring.primary_id for t in new.values() if t)
    assert rotated.fields.decrypt(new[25], context="shop_customers.email", row=25) == "user25@example.com"


def test_plaintext_without_flag_is_refused_and_nothing_changes(sp, store):
    _seed(store, 3)
    with pytest.raises(InvalidInput, match="--from-plaintext"):
        reencrypt_column(sp.fields, sp.jobs, store, table="shop_customers", column="email")
    assert _emails(store)[1] == "user1@example.com"


def test_unknown_table_or_column(sp, store):
    _seed(store, 1)
    with pytest.raises(NotFoundError):
        reencrypt_column(sp.fields, sp.jobs, store, table="nope", column="email")
    with pytest.raises(NotFoundError):
        reencrypt_column(sp.fields, sp.jobs, store, table="shop_customers", column="nope")


def test_column_in_another_database(sp, tmp_path):
    shop_db = Store.from_url(f"sqlite:///{tmp_path}/shop.db")
    _seed(shop_db, 10)
    report = reencrypt_column(sp.fields, sp.jobs, sp.store, table="shop_customers", column="email",
                              from_plaintext=True, target=shop_db, batch=3)
    assert report.encrypted == 10
    assert sp.fields.decrypt(_emails(shop_db)[10], context="shop_customers.email", row=10) == "user10@example.com"


@pytest.mark.slow
def test_cli_run_killed_with_9_resumes_without_loss_or_double_encryption(settings, store, db_url, tmp_path):
    total = 6000
    _seed(store, total)
    keyfile = tmp_path / "keys.json"
    keyfile.write_text(settings.keyset.get_secret_value())
    env = {**os.environ, "SHOPPRIVACY_DATABASE_URL": db_url, "SHOPPRIVACY_KEYSET_FILE": str(keyfile)}
    env.pop("SHOPPRIVACY_TEST_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "shopprivacy", "fields", "reencrypt", "--table", "shop_customers",
           "--column", "email", "--from-plaintext", "--batch", "20"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def encrypted():
        return sum(1 for v in _emails(store).values() if v.startswith("spf1."))

    deadline = time.monotonic() + 60
    while encrypted() < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = encrypted()
    assert 0 < partial < total, "the run must be killed mid-way"
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "resumed from checkpoint" in out.stdout
    sp = ShopPrivacy(settings, store=store)
    values = _emails(store)
    assert len(values) == total
    for row_id in (1, partial, partial + 1, total):
        # decrypts to the original: encrypted exactly once, never twice
        value = sp.fields.decrypt(values[row_id], context="shop_customers.email", row=row_id)
        assert value == f"user{row_id}@example.com"
    assert all(v.startswith("spf1.") for v in values.values())
    status = sp.jobs.status("fields.reencrypt:shop_customers.email")
    assert status["status"] == "done" and status["processed"] == total
    assert json.loads(json.dumps(status["checkpoint"]))["after"] == total


def test_shards_split_the_rows_and_each_keeps_its_own_checkpoint(sp, store):
    from shopprivacy.workers import Shard

    _seed(store, 40)
    reports = [reencrypt_column(sp.fields, sp.jobs, store, table="shop_customers", column="email", batch=7,
                                from_plaintext=True, shard=Shard(i, 3)) for i in range(3)]
    assert sum(r.encrypted for r in reports) == 40 and all(r.encrypted for r in reports)
    values = _emails(store)
    assert all(sp.fields.decrypt(v, context="shop_customers.email", row=k) == f"user{k}@example.com"
               for k, v in values.items())
    assert sp.jobs.status("fields.reencrypt:shop_customers.email#1/3")["status"] == "done"


@pytest.mark.timeout(300)
def test_workers_killed_with_9_resume_their_share_without_loss_or_double_encryption(settings, store, db_url,
                                                                                     tmp_path):
    total = 3000
    _seed(store, total)
    keyfile = tmp_path / "keys.json"
    keyfile.write_text(settings.keyset.get_secret_value())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPPRIVACY_")}
    env.update(SHOPPRIVACY_DATABASE_URL=db_url, SHOPPRIVACY_KEYSET_FILE=str(keyfile))
    cmd = [sys.executable, "-m", "shopprivacy", "fields", "reencrypt", "--table", "shop_customers", "--column",
           "email", "--from-plaintext", "--batch", "20", "--json"]
    procs = [subprocess.Popen([*cmd, "--shard", f"{i}/3"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(3)]

    def encrypted():
        return sum(1 for v in _emails(store).values() if v.startswith("spf1."))

    def done_by_shard_0():
        status = Jobs(store).status("fields.reencrypt:shop_customers.email#0/3")
        return status["processed"] if status else 0

    deadline = time.monotonic() + 120
    while done_by_shard_0() < 200:  # rows it read (about a third of them its own), checkpointed
        assert procs[0].poll() is None and time.monotonic() < deadline, procs[0].communicate()
        time.sleep(0.01)
    os.kill(procs[0].pid, signal.SIGKILL)  # shard 0 dies mid-way; 1 and 2 go on
    procs[0].wait()
    for p in procs[1:]:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    assert encrypted() < total  # shard 0's rest is still plaintext
    again = subprocess.run([*cmd, "--shard", "0/3"], env=env, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["resumed"] is True
    sp = ShopPrivacy(settings, store=store)
    for row_id, value in _emails(store).items():  # every row encrypted exactly once: decrypts to the original
        assert sp.fields.decrypt(value, context="shop_customers.email", row=row_id) == f"user{row_id}@example.com"
