"""The store refuses text no database keeps (NUL, lone surrogates) the same way on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import func, insert, select

from shopprivacy.errors import InvalidInput
from shopprivacy.store.schema import outbox
from shopprivacy.store.types import utcnow
from shopprivacy.testing import row_counts


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "x\udfff"])
def test_text_with_nul_or_a_lone_surrogate_is_invalid_input_and_writes_nothing(store, bad):
    now = utcnow()
    row = {"topic": "t", "payload": {}, "status": "pending", "attempts": 0, "next_attempt_at": now,
           "created_at": now, "updated_at": now}
    before = row_counts(store)
    with pytest.raises(InvalidInput, match="NUL character or a lone surrogate"):
        with store.begin() as conn:
            conn.execute(insert(outbox).values(**row, idempotency_key="ok"))
            conn.execute(insert(outbox).values(**row, idempotency_key=bad))
    with pytest.raises(InvalidInput):
        with store.begin() as conn:
            conn.execute(insert(outbox), [{**row, "idempotency_key": "k1"}, {**row, "idempotency_key": bad}])
    with pytest.raises(InvalidInput):  # a lookup too: PostgreSQL refuses NUL in any parameter
        with store.begin(write=False) as conn:
            conn.execute(select(func.count()).select_from(outbox).where(outbox.c.topic == bad))
    assert row_counts(store) == before
    with store.begin() as conn:  # text a database keeps still passes, JSON escapes NUL itself
        conn.execute(insert(outbox).values(**{**row, "payload": {"n": "a\x00"}}, idempotency_key="é😀\t"))
    assert row_counts(store)["sp_outbox"] == before["sp_outbox"] + 1
