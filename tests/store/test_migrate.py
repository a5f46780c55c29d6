import importlib
import pkgutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import shopprivacy
from shopprivacy.errors import DatabaseUnavailable, SchemaVersionError
from shopprivacy.store import Store, metadata, migrate


def _import_table_modules():
    for mod in pkgutil.walk_packages(shopprivacy.__path__, "shopprivacy."):
        if mod.name.rsplit(".", 1)[-1] in {"tables", "schema"}:
            importlib.import_module(mod.name)


def test_upgrade_is_idempotent_and_check_passes(db_url):
    st = Store.from_url(db_url)
    with pytest.raises(SchemaVersionError, match="no shopprivacy schema"):
        st.check()
    before, after = st.upgrade()
    assert before is None and after == migrate.head_revision()
    assert st.upgrade() == (after, after)
    st.check()
    assert st.schema_status() == (after, after)
    st.dispose()


def test_migrations_match_the_declared_tables(store):
    _import_table_modules()
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": migrate.VERSION_TABLE, "compare_type": False})
        diffs = [d for d in compare_metadata(ctx, metadata) if not (d[0] == "remove_table" and
                                                                    not d[1].name.startswith("sp_"))]
    assert diffs == []


def test_tables_are_prefixed():
    _import_table_modules()
    assert all(name.startswith("sp_") for name in metadata.tables)


def test_newer_schema_is_refused(store):
    with store.begin() as conn:
        conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999_future'"))
    with pytest.raises(SchemaVersionError, match="newer"):
        store.check()


def test_older_schema_is_refused(store):
    revisions = list(ScriptDirectory.from_config(migrate._config()).walk_revisions())
    if len(revisions) < 2:
        pytest.skip("only one schema revision exists so far")
    with store.begin() as conn:
        conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :v"), {"v": revisions[-1].revision})
    with pytest.raises(SchemaVersionError, match="older"):
        store.check()


def test_unreachable_database_is_a_clear_error(tmp_path):
    st = Store.from_url(f"sqlite:///{tmp_path}/missing/dir/x.db")
    with pytest.raises(DatabaseUnavailable, match="cannot reach"):
        st.check()
    pg = Store.from_url("postgresql+psycopg://nobody:secretpw@127.0.0.1:1/none")
    with pytest.raises(DatabaseUnavailable) as info:
        pg.check()
    assert "secretpw" not in str(info.value)
