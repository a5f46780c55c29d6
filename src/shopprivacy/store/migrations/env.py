"""Alembic environment: runs on the connection handed over by :func:`shopprivacy.store.migrate.upgrade`."""

from __future__ import annotations

from alembic import context

from shopprivacy.store.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
