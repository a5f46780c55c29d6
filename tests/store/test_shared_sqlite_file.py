"""The ``sp_`` tables in the shop's own SQLite file (docs/operations.md allows it): the SDK's write while the
shop holds its write transaction is a DatabaseUnavailable saying what to do, and ``conn=`` avoids it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.errors import DatabaseUnavailable
from shopprivacy.store import engine as engine_module


@pytest.fixture
def shop_file(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_SECONDS", 1, raising=False)  # keep the wait short
    path = tmp_path / "shop.db"
    shop = create_engine(f"sqlite:///{path}")
    with shop.begin() as conn:  # the shop made the file first: rollback-journal mode, not WAL
        conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)"))
    settings = Settings(database_url=f"sqlite:///{path}", keyset=Keyset.generate().to_json())
    setup = ShopPrivacy(settings)
    setup.store.upgrade()
    setup.close()
    with shop.connect() as conn:
        conn.execute(text("PRAGMA journal_mode=DELETE"))
    yield shop, settings
    shop.dispose()


def test_encrypt_inside_the_shops_write_transaction_says_what_to_do(shop_file):
    shop, settings = shop_file
    sp = ShopPrivacy(settings)
    try:
        with shop.begin() as conn:
            conn.execute(text("INSERT INTO customers (email) VALUES ('x')"))
            with pytest.raises(DatabaseUnavailable) as info:
                sp.fields.encrypt("jane@example.com", context="customers.email", row="1", subject="c_1")
        assert "pass that connection as conn=" in str(info.value) and "try again later" in str(info.value)
        assert "jane" not in str(info.value)
    finally:
        sp.close()


def test_conn_writes_the_subject_key_in_the_shops_own_transaction(shop_file):
    shop, settings = shop_file
    sp = ShopPrivacy(settings)
    try:
        with shop.begin() as conn:
            conn.execute(text("INSERT INTO customers (id, email) VALUES (1, 'x')"))
            token = sp.fields.encrypt("jane@example.com", context="customers.email", row="1", subject="c_1",
                                      conn=conn)
        assert sp.fields.decrypt(token, context="customers.email", row="1") == "jane@example.com"
    finally:
        sp.close()
