"""Attacks on the audit log by someone who can write the database but holds neither the keyset nor the anchor."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, update

from shopprivacy.errors import AuditChainError
from shopprivacy.keys import Keyring
from shopprivacy.store import AnchorFile, AuditLog
from shopprivacy.store.schema import audit_head, audit_log


@pytest.fixture
def anchor_file(tmp_path):
    return AnchorFile(tmp_path / "anchor" / "audit.jsonl")


@pytest.fixture
def audit(store, keyring, clock, anchor_file):
    anchor_file.path.parent.mkdir(mode=0o700)
    return AuditLog(store, keyring, clock=clock, anchor_file=anchor_file)


@pytest.fixture
def unanchored(store, keyring, clock):
    return AuditLog(store, keyring, clock=clock)


def fill(audit, clock, n):
    for i in range(n):
        clock.advance(seconds=1)
        audit.record(actor="system", action="test.event", subject=f"p_{i}", meta={"i": i})


def run(store, *statements):
    with store.begin() as conn:
        for stmt in statements:
            conn.execute(stmt)


def mac_of(store, seq):
    with store.begin(write=False) as conn:
        return conn.execute(select(audit_log.c.mac).where(audit_log.c.seq == seq)).scalar_one()


def saved_head(store):
    with store.begin(write=False) as conn:
        return dict(conn.execute(select(audit_head)).one()._mapping)


def problems(audit, **kwargs):
    with pytest.raises(AuditChainError) as info:
        audit.verify(**kwargs)
    return {p.kind: p for p in info.value.problems}, info.value


def test_cut_tail_with_the_head_moved_to_the_last_kept_entry(audit, unanchored, clock, store):
    fill(audit, clock, 5)
    audit.anchor()
    run(store, delete(audit_log).where(audit_log.c.seq > 3),
        update(audit_head).values(last_seq=3, last_mac=mac_of(store, 3)))
    found, _ = problems(unanchored)  # the head's seal alone gives it away
    assert set(found) == {"head"} and "seal does not match" in str(found["head"])
    found, exc = problems(audit)
    assert set(found) == {"head", "tail"}
    assert "ends at entry 3" in str(found["tail"]) and "entries 4-5 were cut off" in str(found["tail"])
    assert exc.seq == 4 and len(exc.problems) == 2


def test_cut_tail_with_a_genuine_head_saved_earlier_is_caught_by_the_anchor(audit, unanchored, clock, store):
    fill(audit, clock, 3)
    old_head = saved_head(store)
    fill(audit, clock, 2)
    audit.anchor()
    run(store, delete(audit_log).where(audit_log.c.seq > 3), update(audit_head).values(**old_head))
    assert unanchored.verify().entries == 3  # inside the database it looks whole: the anchor is what catches it
    found, exc = problems(audit)
    assert set(found) == {"tail"} and exc.seq == 4
    with pytest.raises(AuditChainError, match="cut off"):
        audit.anchor()  # and a cut chain is never anchored over
    assert audit.anchor_file.latest().head.last_seq == 5


def test_cut_tail_then_written_again_by_the_shop_is_caught(audit, clock, store):
    fill(audit, clock, 3)
    old_head = saved_head(store)
    fill(audit, clock, 2)
    audit.anchor()
    run(store, delete(audit_log).where(audit_log.c.seq > 3), update(audit_head).values(**old_head))
    fill(audit, clock, 3)  # new entries 4, 5, 6 chained on the restored head
    found, exc = problems(audit)
    assert set(found) == {"tail"} and "entry 5 is not the one" in str(found["tail"]) and exc.seq == 5


@pytest.mark.parametrize("keep_head", [False, True])
def test_wiped_log_is_caught(audit, unanchored, clock, store, keep_head):
    fill(audit, clock, 4)
    audit.anchor()
    run(store, delete(audit_log), *([] if keep_head else [delete(audit_head)]))
    found, _ = problems(audit)
    assert set(found) == {"wiped"} and "names entry 4" in str(found["wiped"])
    if keep_head:
        assert set(problems(unanchored)[0]) == {"wiped"}
    else:
        assert unanchored.verify().entries == 0  # nothing in the database can tell: keep an anchor


def test_oldest_entries_deleted_and_base_moved_without_a_trace(audit, unanchored, clock, store):
    fill(audit, clock, 6)
    audit.anchor()
    run(store, delete(audit_log).where(audit_log.c.seq <= 3),
        update(audit_head).values(base_seq=3, base_mac=mac_of(store, 3)))
    found, exc = problems(unanchored)
    assert set(found) == {"base", "head"}
    assert "no audit.truncated entry records their removal" in str(found["base"]) and exc.seq == 3
    assert set(problems(audit)[0]) == {"base", "head"}


def test_base_replaced_with_an_older_one_is_caught_by_the_anchor(audit, clock, store):
    fill(audit, clock, 6)
    old_head = saved_head(store)
    audit.truncate(before=clock.now - timedelta(seconds=2.5))  # removes 1-3, anchors base 3
    run(store, update(audit_head).values(**old_head))
    found, exc = problems(audit)
    assert set(found) == {"entry", "base"} and exc.seq == 1
    assert "entry 1 is missing" in str(found["entry"]) and "replaced with an older one" in str(found["base"])


def test_forged_head_seal_is_named(audit, unanchored, clock, store):
    fill(audit, clock, 3)
    run(store, update(audit_head).values(seal="ab" * 32))
    assert "forged or edited" in str(problems(unanchored)[0]["head"])
    run(store, update(audit_head).values(key_id="zzz"))
    assert "key 'zzz', which is not in the keyset" in str(problems(unanchored)[0]["head"])
    run(store, update(audit_head).values(key_id=None, seal=None))
    assert "has no seal" in str(problems(unanchored)[0]["head"])


@pytest.mark.parametrize(("tamper", "reason"), [
    (lambda: update(audit_head).values(seal="cd" * 32), "with a wrong seal"),
    (lambda: delete(audit_head), "missing"),
])
def test_a_writer_finding_a_bad_head_keeps_the_finding_in_the_chain(unanchored, clock, store, tamper, reason):
    fill(unanchored, clock, 3)
    run(store, tamper())
    fill(unanchored, clock, 2)  # the shop keeps working: the opt-out is recorded, never refused
    found, exc = problems(unanchored)
    assert set(found) == {"head"} and reason in str(found["head"]) and exc.seq == 4
    assert [e.action for e in unanchored.entries()][3:] == ["audit.bad_head", "test.event", "test.event"]


def test_legit_truncation_and_work_verify_clean_against_the_anchor(audit, clock, store):
    fill(audit, clock, 6)
    audit.anchor()
    assert audit.truncate(before=clock.now - timedelta(seconds=2.5)) == 3
    latest = audit.anchor_file.latest().head
    assert (latest.base_seq, latest.last_seq) == (3, 7)  # truncation anchored itself
    fill(audit, clock, 2)
    report = audit.verify()
    assert (report.entries, report.first_seq, report.last_seq) == (6, 4, 9) and report.anchor.head == latest
    assert audit.anchor().head.last_seq == 9
    assert audit.truncate(before=clock.now + timedelta(seconds=1)) == 6  # everything, then its own entry
    assert audit.verify().entries == 1 and audit.anchor_file.latest().head.base_seq == 9


def test_anchor_is_written_only_when_the_head_moved(audit, clock):
    assert audit.anchor() is None and audit.anchor_file.latest() is None  # an empty log has nothing to anchor
    fill(audit, clock, 2)
    assert audit.anchor().head.last_seq == 2
    assert audit.anchor() is None
    assert len(audit.anchor_file.path.read_text().splitlines()) == 1


def test_an_edited_anchor_is_not_trusted(audit, clock):
    fill(audit, clock, 2)
    audit.anchor()
    path = audit.anchor_file.path
    path.write_text(path.read_text().replace('"last_seq":2', '"last_seq":9').replace('"entries":2', '"entries":9'))
    found, _ = problems(audit)
    assert set(found) == {"anchor"} and "does not verify (wrong seal)" in str(found["anchor"])


def test_anchor_from_another_keyset_is_not_trusted(audit, store, clock, keyset):
    fill(audit, clock, 2)
    audit.anchor()
    other = AuditLog(store, Keyring(keyset.rotate().retire(keyset.primary)), clock=clock)
    with pytest.raises(AuditChainError, match="not in the keyset"):
        other.verify(anchor=audit.anchor_file.latest())


def test_seal_upgrades_a_head_from_before_sealing_once(unanchored, clock, store):
    fill(unanchored, clock, 3)
    run(store, update(audit_head).values(key_id=None, seal=None))  # as a development version left it
    assert unanchored.seal() is True
    assert unanchored.verify().entries == 4
    assert unanchored.entries()[-1].action == "audit.head_sealed"
    assert unanchored.seal() is False
    run(store, update(audit_head).values(seal="ef" * 32))
    assert unanchored.seal() is False  # a wrong seal is tampering, never papered over
    assert "forged or edited" in str(problems(unanchored)[0]["head"])


def test_seal_refuses_a_broken_chain(unanchored, clock, store):
    fill(unanchored, clock, 3)
    run(store, update(audit_head).values(key_id=None, seal=None),
        update(audit_log).where(audit_log.c.seq == 2).values(actor="x"))
    with pytest.raises(AuditChainError, match="entry 2 was modified"):
        unanchored.seal()


def test_inserted_head_row_with_guessed_values_is_caught(unanchored, clock, store):
    fill(unanchored, clock, 2)
    run(store, delete(audit_log), delete(audit_head),
        insert(audit_head).values(id=1, last_seq=0, last_mac="0" * 64, base_seq=0, base_mac="0" * 64,
                                  key_id=unanchored.keyring.primary_id, seal="1" * 64))
    assert set(problems(unanchored)[0]) == {"head"}


def test_non_ascii_macs_written_by_hand_are_reported_not_crashed_on(unanchored, clock, store):
    fill(unanchored, clock, 3)
    run(store, update(audit_log).where(audit_log.c.seq == 2).values(mac="é" * 64))
    assert "audit entry 2 was modified" in str(problems(unanchored)[0]["entry"])
    run(store, update(audit_head).values(seal="é" * 64))
    assert "forged or edited" in str(problems(unanchored)[0]["head"])


def test_head_deleted_and_first_entry_edited_is_not_called_a_wipe(audit, clock, store):
    fill(audit, clock, 3)
    audit.anchor()
    run(store, delete(audit_head), update(audit_log).where(audit_log.c.seq == 1).values(actor="x"))
    found, exc = problems(audit)
    assert set(found) == {"head", "entry"} and exc.seq == 1
