"""Schema versions: upgrade to the newest and tell whether a database matches this version of the code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from ..errors import SchemaVersionError

VERSION_TABLE = "sp_schema_version"
_SCRIPTS = Path(__file__).with_name("migrations")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def upgrade(conn: Connection) -> None:
    """Upgrade to the newest schema inside the caller's transaction (idempotent)."""
    cfg = _config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def check(conn: Connection) -> None:
    """Raise :class:`SchemaVersionError` unless the database is at this code's schema version."""
    current, head = current_revision(conn), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaVersionError("the database has no shopprivacy schema yet: run `shopprivacy db upgrade`")
    known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current not in known:
        raise SchemaVersionError(
            f"the database schema ({current}) is newer than this version of shopprivacy ({head}): "
            "upgrade the shopprivacy package"
        )
    raise SchemaVersionError(
        f"the database schema ({current}) is older than this version of shopprivacy ({head}): "
        "run `shopprivacy db upgrade`"
    )
