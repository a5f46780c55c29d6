"""What a driver's error means for the user, in one line: the cause and the fix (never a statement's values).

:func:`database_url_problem` checks a URL before an engine is made; :func:`unavailable_message` explains why a
database cannot be used (missing directory, permission, lock, refused connection, password, missing
database); :func:`driver_missing` names the extra that installs a missing driver.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigurationError

URL_FORMS = ("sqlite:///shop.db (relative), sqlite:////var/lib/shop/shop.db (absolute) or "
             "postgresql+psycopg://user:password@host:5432/dbname")
#: The busy timeout the SDK's SQLite connections wait for another connection's write lock.
SQLITE_BUSY_SECONDS = 30


def parse_database_url(url: str, setting: str = "SHOPPRIVACY_DATABASE_URL") -> URL:
    """The parsed ``url``; ConfigurationError (naming ``setting``, not the password) when it is not one."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigurationError(f"{setting} is not a database URL; write it as {URL_FORMS}",
                                 setting=setting) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"{setting}: only SQLite and PostgreSQL are supported; write it as {URL_FORMS}",
                                 setting=setting)
    return parsed


def driver_missing(url: URL, exc: ImportError, setting: str = "SHOPPRIVACY_DATABASE_URL") -> ConfigurationError:
    """The error for a URL whose driver module is not installed."""
    if url.get_backend_name() == "postgresql":
        driver = url.get_driver_name()
        if driver not in ("psycopg", "psycopg2", ""):
            fix = "use postgresql+psycopg://"
        else:
            fix = "install it with: pip install 'shopprivacy[postgres]'"
        return ConfigurationError(f"{setting}: the PostgreSQL driver is not installed ({exc.name or exc}); {fix}",
                                  setting=setting)
    return ConfigurationError(f"{setting}: the database driver is not installed ({exc.name or exc})",
                              setting=setting)


def unavailable_message(where: str, url: URL | None, orig: BaseException | None, *, connecting: bool) -> str:
    """One line: why the database ``where`` (its URL without password) cannot be used, and what to do.
    "cannot reach the database ..." when it cannot be opened; "the database ... is unavailable ...; try again
    later" when it went away or stayed locked (the same work may succeed later)."""
    text = str(orig or "").strip()
    first = text.splitlines()[0][:200] if text else type(orig).__name__
    lowered = text.lower()
    if url is not None and url.get_backend_name() == "sqlite":
        if "locked" in lowered or "busy" in lowered:
            return (f"the database {where} is unavailable for now: another connection held its write lock past "
                    f"the busy timeout of {SQLITE_BUSY_SECONDS} seconds: a long or forgotten transaction, e.g. the "
                    "shop's own on the same file (pass that connection as conn=, or commit first); try again later")
        return f"cannot reach the database {where}: {_sqlite_cause(url, lowered, first)}"
    host = f"{url.host or 'localhost'}:{url.port or 5432}" if url is not None else "?"
    if not connecting:
        return f"the database {where} is unavailable ({first}); try again later"
    if "refused" in lowered:
        cause = (f"connection refused at {host}: start PostgreSQL, or fix the host and port in "
                 "SHOPPRIVACY_DATABASE_URL")
    elif "password authentication failed" in lowered or "no password supplied" in lowered:
        cause = "PostgreSQL refused the user name or password: fix them in SHOPPRIVACY_DATABASE_URL"
    elif "does not exist" in lowered and "database" in lowered:
        name = url.database if url is not None else "?"
        cause = f"there is no database {name!r} on {host}: create it (createdb {name}) or fix the URL"
    elif "timeout" in lowered or "timed out" in lowered:
        cause = f"no answer from {host} in time: check the host, port and firewall"
    elif "could not translate host name" in lowered or "name or service not known" in lowered:
        cause = f"the host name in SHOPPRIVACY_DATABASE_URL does not resolve ({host})"
    else:
        cause = f"{first}; check that the server runs and the URL is right"
    return f"cannot reach the database {where}: {cause}"


def _sqlite_cause(url: URL, lowered: str, first: str) -> str:
    path = Path(url.database) if url.database and url.database != ":memory:" else None
    if path is not None:
        folder = path.absolute().parent
        if not folder.is_dir():
            what = "is not a directory" if folder.exists() else "does not exist"
            return f"the directory {folder} {what}: create it (mkdir -p {folder}) or fix the URL"
        if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
            return (f"permission denied: let the shop's user read and write {path} and its directory {folder} "
                    "(SQLite keeps its -wal and -shm files there)")
    if "readonly" in lowered or "read-only" in lowered:
        return "the file is read-only: let the shop's user write it and its directory"
    if "disk" in lowered and "full" in lowered:
        return "the disk is full: free space, then try again"
    if "not a database" in lowered:
        return "the file is not an SQLite database: fix the path in the URL"
    return f"{first}; check the path and its permissions"
