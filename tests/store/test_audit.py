import multiprocessing
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text, update

from shopprivacy.errors import AuditChainError, InvalidInput
from shopprivacy.keys import Keyring, Keyset
from shopprivacy.store import AuditLog, Store
from shopprivacy.store.schema import audit_head, audit_log


@pytest.fixture
def audit(store, keyring, clock):
    return AuditLog(store, keyring, clock=clock)


def fill(audit, clock, n=5):
    for i in range(n):
        clock.advance(seconds=1)
        audit.record(actor="system", action="test.event", subject=f"p_{i}", fields=["email", "phone"],
                     meta={"n": i})


def test_append_and_verify(audit, clock):
    fill(audit, clock)
    report = audit.verify()
    assert report.entries == 5 and report.first_seq == 1 and report.last_seq == 5
    assert audit.head() == (5, report.last_mac)
    entries = audit.entries(subject="p_2")
    assert [(e.seq, e.fields, dict(e.meta)) for e in entries] == [(3, ("email", "phone"), {"n": 2})]


def test_empty_log_verifies(audit):
    assert audit.verify().entries == 0


def test_append_commits_with_the_callers_transaction(audit, store):
    with pytest.raises(RuntimeError), store.begin() as conn:
        audit.append(conn, actor="a", action="b")
        raise RuntimeError("rolled back")
    assert audit.verify().entries == 0


def test_meta_must_be_small_scalars(audit):
    with pytest.raises(InvalidInput):
        audit.record(actor="a", action="b", meta={"x": {"nested": 1}})
    with pytest.raises(InvalidInput):
        audit.record(actor="a", action="b", meta={"x": "y" * 201})
    with pytest.raises(InvalidInput):
        audit.record(actor="", action="b")
    with pytest.raises(InvalidInput, match="NUL"):
        audit.record(actor="a", action="b", subject="p\x00")
    with pytest.raises(InvalidInput, match="surrogates"):
        audit.record(actor="a", action="b", subject="p\ud800")
    assert audit.verify().entries == 0


def _tamper(store, stmt):
    with store.begin() as conn:
        conn.execute(stmt)


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "fragment"),
    [
        (lambda: update(audit_log).where(audit_log.c.seq == 3).values(action="other"), 3, "modified"),
        (lambda: update(audit_log).where(audit_log.c.seq == 2).values(fields=["name"]), 2, "modified"),
        (lambda: update(audit_log).where(audit_log.c.seq == 4).values(subject="p_x"), 4, "modified"),
        (lambda: delete(audit_log).where(audit_log.c.seq == 3), 3, "missing"),
        (lambda: delete(audit_log).where(audit_log.c.seq == 1), 1, "missing"),
        (lambda: delete(audit_log).where(audit_log.c.seq == 5), 5, "removed from the end"),
        (lambda: update(audit_head).values(last_seq=4), 5, "head"),
    ],
)
def test_tampering_is_detected_and_named(audit, clock, store, tamper, bad_seq, fragment):
    fill(audit, clock)
    _tamper(store, tamper())
    with pytest.raises(AuditChainError, match=fragment) as info:
        audit.verify()
    assert info.value.seq == bad_seq


@pytest.mark.parametrize(("column", "raw"), [("meta", '"oops"'), ("meta", "[1, 2]"), ("fields", "5"),
                                           ("fields", '[1, "email"]'), ("at", "garbage")])
def test_corrupt_rows_are_named_not_crashed_on(audit, clock, store, column, raw):
    fill(audit, clock)
    if column == "at" and store.dialect != "sqlite":
        pytest.skip("PostgreSQL refuses a malformed timestamp itself")
    value = "CAST(:raw AS json)" if store.dialect == "postgresql" and column != "at" else ":raw"
    with store.begin() as conn:
        conn.execute(text(f"UPDATE sp_audit_log SET {column} = {value} WHERE seq = 3"), {"raw": raw})
    with pytest.raises(AuditChainError, match="corrupt") as info:
        audit.verify()
    assert info.value.seq == 3


def test_reordered_entries_are_detected(audit, clock, store):
    fill(audit, clock)
    with store.begin() as conn:
        rows = {r.seq: r for r in conn.execute(select(audit_log)).all()}
        cols = ["at", "actor", "action", "subject", "fields", "meta", "key_id", "prev_mac", "mac"]
        for a, b in ((2, 3), (3, 2)):
            conn.execute(update(audit_log).where(audit_log.c.seq == a).values(
                **{c: getattr(rows[b], c) for c in cols}))
    with pytest.raises(AuditChainError) as info:
        audit.verify()
    assert info.value.seq == 2


def test_inserted_entry_is_detected(audit, clock, store):
    fill(audit, clock, 3)
    with store.begin() as conn:
        conn.execute(update(audit_head).values(last_seq=4))
        row = conn.execute(select(audit_log).where(audit_log.c.seq == 3)).one()
        conn.execute(insert(audit_log).values(
            seq=4, at=row.at, actor="evil", action="x", subject=None, fields=[], meta={}, key_id=row.key_id,
            prev_mac=row.mac, mac="0" * 64))
    with pytest.raises(AuditChainError) as info:
        audit.verify()
    assert info.value.seq == 4


def test_missing_head_is_detected(audit, clock, store):
    fill(audit, clock, 2)
    _tamper(store, delete(audit_head))
    with pytest.raises(AuditChainError, match="head"):
        audit.verify()


def test_rotation_keeps_old_entries_verifiable_and_retired_key_is_named(store, keyset, clock):
    AuditLog(store, Keyring(keyset), clock=clock).record(actor="a", action="before.rotation")
    rotated = keyset.rotate()
    log2 = AuditLog(store, Keyring(rotated), clock=clock)
    log2.record(actor="a", action="after.rotation")
    assert log2.verify().entries == 2
    retired = AuditLog(store, Keyring(rotated.retire(keyset.primary)), clock=clock)
    with pytest.raises(AuditChainError, match="not in the keyset") as info:
        retired.verify()
    assert info.value.seq == 1


def test_truncate_keeps_chain_verifiable(audit, clock):
    fill(audit, clock, 6)
    cutoff = clock.now - timedelta(seconds=1.5)  # entries 1..4 are older
    assert audit.truncate(before=cutoff) == 4
    report = audit.verify()
    assert report.first_seq == 5 and report.entries == 3  # 5, 6 and the truncation entry
    assert audit.entries(action="audit.truncated")[0].meta == {"through_seq": 4, "removed": 4}
    assert audit.truncate(before=cutoff) == 0


@hsettings(max_examples=25)
@given(actions=st.lists(st.text(alphabet="abcdefghij._", min_size=1, max_size=20), min_size=1, max_size=8),
       subjects=st.lists(st.none() | st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
                                             min_size=1, max_size=30),
                         min_size=8, max_size=8),
       target=st.integers(min_value=0, max_value=7), field=st.sampled_from(["actor", "action", "at", "meta"]))
def test_any_single_edit_is_detected(store, keyring, clock, actions, subjects, target, field):
    with store.begin() as conn:
        conn.execute(delete(audit_log))
        conn.execute(delete(audit_head))
    audit = AuditLog(store, keyring, clock=clock)
    for i, action in enumerate(actions):
        clock.advance(seconds=1)
        audit.record(actor="t", action=action, subject=subjects[i], meta={"i": i})
    audit.verify()
    seq = target % len(actions) + 1
    new = {"actor": "intruder", "action": "forged", "at": clock.now + timedelta(days=1),
           "meta": {"i": -1}}[field]
    _tamper(store, update(audit_log).where(audit_log.c.seq == seq).values(**{field: new}))
    with pytest.raises(AuditChainError) as info:
        audit.verify()
    assert info.value.seq == seq


def _writer(url: str, keyset_json: str, n: int) -> None:
    st_ = Store.from_url(url)
    log = AuditLog(st_, Keyring(Keyset.from_json(keyset_json)))
    for i in range(n):
        log.record(actor="proc", action="concurrent", meta={"i": i})
    st_.dispose()


@pytest.mark.slow
def test_concurrent_writers_never_fork_the_chain(store, db_url, keyset):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db_url, keyset.to_json(), 40)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    report = AuditLog(store, Keyring(keyset)).verify()
    assert report.entries == 120 and report.last_seq == 120
