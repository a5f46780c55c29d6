"""Re-encrypt a column in place: after a key rotation, or to encrypt an existing plaintext column.

Batches are read in row-id order after a checkpoint kept in ``sp_jobs``; when the column lives in the SDK's
own database, each batch and its checkpoint commit together, so a run killed with ``kill -9`` resumes with
nothing lost or done twice. In another database the two commit separately; a replayed batch is harmless
because current tokens are skipped and tokens are never encrypted again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, Table, bindparam, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import NoSuchTableError

from ..errors import InvalidInput, NotFoundError
from ..progress import Progress
from ..store.engine import Store
from ..store.jobs import Jobs
from ..workers import Shard
from .api import Fields
from .ciphertext import is_token


@dataclass
class ReencryptReport:
    scanned: int = 0
    encrypted: int = 0  # plaintext values encrypted (--from-plaintext)
    reencrypted: int = 0  # tokens moved to the primary key
    unchanged: int = 0  # already current, or empty
    resumed: bool = False


def _table(engine: Engine, name: str, column: str, id_column: str) -> Table:
    try:
        table = Table(name, MetaData(), autoload_with=engine)
    except NoSuchTableError:
        raise NotFoundError(f"table {name!r} does not exist") from None
    for col in (column, id_column):
        if col not in table.c:
            raise NotFoundError(f"table {name!r} has no column {col!r}")
    return table


def reencrypt_column(fields: Fields, jobs: Jobs, sdk_store: Store, *, table: str, column: str,
                     id_column: str = "id", batch: int = 1000, from_plaintext: bool = False,
                     target: Store | None = None, progress: Callable[[int], Progress] | None = None,
                     restart: bool = False, shard: Shard | None = None) -> ReencryptReport:
    """Re-encrypt ``table.column`` (context ``"table.column"``, row = value of ``id_column``).

    ``shard``: this worker's share of the rows when several re-encrypt one column together; each share is a
    job of its own (``fields.reencrypt:<context>#<index>/<count>``) with its own checkpoint, so a share whose
    worker was killed resumes when it runs again. Every worker reads every row; each encrypts only its own.
    """
    if batch < 1:
        raise InvalidInput("batch must be at least 1")
    target = target or sdk_store
    same_db = target is sdk_store or target.safe_url == sdk_store.safe_url
    tbl = _table(target.engine, table, column, id_column)
    col, idc, context = tbl.c[column], tbl.c[id_column], f"{table}.{column}"
    report = ReencryptReport()
    with target.begin(write=False) as conn:
        total = conn.execute(select(func.count()).select_from(tbl)).scalar_one()
    stmt = update(tbl).where(idc == bindparam("_id")).values({column: bindparam("_value")})
    name = f"fields.reencrypt:{context}" + (f"#{shard.index}/{shard.count}" if shard is not None else "")
    with jobs.run(name, restart=restart) as job:
        report.resumed = job.resumed
        after = (job.checkpoint or {}).get("after")
        bar = progress(int(total)) if progress else None
        if bar is not None:
            bar.advance(job.processed)
        while True:
            with target.begin() as conn:
                q = select(idc, col).order_by(idc).limit(batch)
                rows = conn.execute(q if after is None else q.where(idc > after)).all()
                if not rows:
                    break
                mine = rows if shard is None else [r for r in rows if shard.owns(str(r[0]))]
                changes = _changes(fields, mine, context, from_plaintext, report)
                if changes:
                    conn.execute(stmt, changes)
                after = rows[-1][0]
                if same_db:
                    job.save(conn, {"after": after}, processed=len(rows))
            if not same_db:
                job.save_now({"after": after}, processed=len(rows))
            if bar is not None:
                bar.advance(len(rows))
        if bar is not None:
            bar.close()
    return report


def _changes(fields: Fields, rows: Sequence[Any], context: str, from_plaintext: bool,
             report: ReencryptReport) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for row_id, value in rows:
        report.scanned += 1
        if value is None or value == "":
            report.unchanged += 1
        elif is_token(value):
            fresh = fields.reencrypt(value, context=context, row=row_id)
            if fresh == value:
                report.unchanged += 1
            else:
                report.reencrypted += 1
                out.append({"_id": row_id, "_value": fresh})
        elif from_plaintext:
            report.encrypted += 1
            out.append({"_id": row_id, "_value": fields.encrypt(value, context=context, row=row_id)})
        else:
            raise InvalidInput(f"row {row_id!r} of {context} holds a value that is not a token; "
                               "pass --from-plaintext to encrypt plaintext values")
    return out


