import json
import logging
import os
import stat
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from shopprivacy.errors import AuditAnchorError, AuditChainError
from shopprivacy.keys import Keyring, Keyset
from shopprivacy.store import AnchorFile, AuditHead, AuditLog, parse_anchor
from shopprivacy.store.audit_anchor import anchor_line
from shopprivacy.store.audit_seal import ChainMacs

AT = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
RING = Keyring(Keyset.generate())
HEAD = ChainMacs(RING).sealed(AuditHead(42, "a" * 64, 7, "b" * 64))
LINE = anchor_line(HEAD, AT)


@pytest.fixture
def audit(store, keyring, clock, tmp_path):
    return AuditLog(store, keyring, clock=clock, anchor_file=AnchorFile(tmp_path / "audit.anchor"))


def test_anchor_line_round_trips():
    anchor = parse_anchor(LINE)
    assert anchor.head == HEAD and anchor.at == AT and json.loads(LINE)["entries"] == 35


@pytest.mark.parametrize("line", [
    f"2026-11-24 12:00:00,123 INFO shopprivacy.audit.anchor: audit head {LINE}",
    f"Nov 24 12:00:00 shop app[812]: audit head {LINE} (pid 812)",
    json.dumps({"level": "info", "logger": "shopprivacy.audit.anchor", "message": f"audit head {LINE}",
                "audit_anchor": json.loads(LINE)}),
])
def test_a_shipped_log_line_is_an_anchor_too(line):
    assert parse_anchor(line).head == HEAD


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "no anchor record"),
    ("{", "not a complete JSON record"),
    ("[1, 2]", "no anchor record"),
    ('{"v": 1}', "exactly the keys"),
    (LINE.replace('"v":1', '"v":2'), "version 2"),
    (LINE.replace('"v":1', '"v":true'), "version True"),
    (LINE.replace('"entries":35', '"entries":36'), "entries = last_seq - base_seq"),
    (LINE.replace('"base_seq":7', '"base_seq":43'), "0 <= base_seq <= last_seq"),
    (LINE.replace('"last_seq":42', '"last_seq":42.0'), "whole numbers"),
    (LINE.replace("a" * 64, "A" * 64), "last_mac must be 64 lowercase hex"),
    (LINE.replace(HEAD.key_id, "KEY"), "key_id must be"),
    (LINE.replace("2026-11-24T12:00:00.000000Z", "yesterday"), "at must be a UTC time"),
    ('{"a":' * 100_000, "not a complete JSON record"),
])
def test_garbled_anchor_lines_are_named(text, fragment):
    with pytest.raises(AuditAnchorError, match=fragment.replace("(", r"\(")):
        parse_anchor(text, source="--anchor x")


@hsettings(max_examples=300)
@given(st.text(max_size=400) | st.builds(lambda a, b: a + LINE[len(a):len(a) + b], st.text(max_size=40),
                                         st.integers(0, len(LINE))))
def test_parsing_any_text_gives_an_anchor_or_a_clear_error(text):
    try:
        anchor = parse_anchor(text)
    except AuditAnchorError as exc:
        assert str(exc).startswith(("the audit anchor is garbled", "the audit anchor has anchor version"))
    else:
        assert anchor.head.entries == anchor.head.last_seq - anchor.head.base_seq


@hsettings(max_examples=200)
@given(position=st.integers(0, len(LINE) - 1), char=st.characters(exclude_categories=["Cs"]))
def test_an_anchor_changed_in_one_place_never_verifies_a_different_head(position, char):
    text = LINE[:position] + char + LINE[position + 1:]
    try:
        anchor = parse_anchor(text)
    except AuditAnchorError:
        return
    assert anchor.head == HEAD or ChainMacs(RING).seal_problem(anchor.head) is not None


@hsettings(max_examples=150)
@given(data=st.binary(max_size=600) | st.builds(lambda b, tail: b + (LINE + "\n").encode() + tail,
                                                st.binary(max_size=50), st.binary(max_size=50)))
def test_reading_any_file_gives_an_anchor_none_or_a_clear_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("anchor") / "audit.anchor"
    path.write_bytes(data)
    try:
        anchor = AnchorFile(path).latest()
    except AuditAnchorError as exc:
        assert str(path) in str(exc)
    else:
        assert anchor is None or anchor.head.last_seq >= anchor.head.base_seq


def test_the_anchor_file_is_created_private_and_appended(audit, clock):
    audit.record(actor="a", action="b")
    previous = os.umask(0)
    try:
        audit.anchor()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(audit.anchor_file.path.stat().st_mode) == 0o600
    audit.record(actor="a", action="c")
    audit.anchor()
    lines = audit.anchor_file.path.read_text().splitlines()
    assert [json.loads(line)["last_seq"] for line in lines] == [1, 2]


def test_an_anchor_file_open_to_others_is_refused(audit, tmp_path):
    audit.record(actor="a", action="b")
    audit.anchor_file.path.write_text("")
    audit.anchor_file.path.chmod(0o644)
    with pytest.raises(AuditAnchorError, match="mode 0644.*chmod 600"):
        audit.anchor()


def test_a_missing_directory_is_a_clear_error(store, keyring, tmp_path):
    log = AuditLog(store, keyring, anchor_file=AnchorFile(tmp_path / "nowhere" / "audit.anchor"))
    log.record(actor="a", action="b")
    with pytest.raises(AuditAnchorError, match="directory .* does not exist"):
        log.anchor()
    with pytest.raises(AuditAnchorError, match="does not exist"):
        log.anchor_file.latest(required=True)
    assert log.anchor_file.latest() is None


def test_an_interrupted_write_is_skipped_and_then_ended(audit, clock):
    audit.record(actor="a", action="b")
    audit.anchor()
    with open(audit.anchor_file.path, "a") as fh:
        fh.write('{"v":1,"at":"2026-')  # the machine died mid-line
    assert audit.anchor_file.latest().head.last_seq == 1
    audit.record(actor="a", action="c")
    audit.anchor()
    assert audit.anchor_file.latest().head.last_seq == 2
    assert audit.verify().entries == 2


def test_a_garbled_last_line_stops_verify_with_a_clear_error(audit):
    audit.record(actor="a", action="b")
    audit.anchor()
    with open(audit.anchor_file.path, "a") as fh:
        fh.write("not an anchor\n")
    with pytest.raises(AuditAnchorError, match="garbled"):
        audit.verify()
    with pytest.raises(AuditAnchorError, match="garbled"):
        audit.anchor()


def test_each_commit_that_appended_logs_its_sealed_head(audit, store, caplog):
    caplog.set_level(logging.INFO, logger="shopprivacy.audit.anchor")
    with store.begin() as conn:
        audit.append(conn, actor="a", action="one")
        audit.append(conn, actor="a", action="two")
        assert caplog.records == []  # nothing before the commit
    with pytest.raises(RuntimeError), store.begin() as conn:
        audit.append(conn, actor="a", action="rolled back")
        raise RuntimeError
    [record] = caplog.records
    logged = parse_anchor(record.getMessage())
    assert logged.head.last_seq == 2 and record.audit_anchor["seal"] == logged.head.seal
    assert audit.verify(anchor=logged).entries == 2


def test_anchoring_a_broken_head_is_refused_and_leaves_the_file_alone(audit, store):
    from sqlalchemy import update

    from shopprivacy.store.schema import audit_head

    audit.record(actor="a", action="b")
    audit.anchor()
    before = audit.anchor_file.path.read_bytes()
    with store.begin() as conn:
        conn.execute(update(audit_head).values(seal="0" * 64))
    with pytest.raises(AuditChainError, match="seal does not match"):
        audit.anchor()
    assert audit.anchor_file.path.read_bytes() == before


def test_an_anchor_can_be_read_from_a_pipe():
    read_end, write_end = os.pipe()
    os.write(write_end, f"INFO shopprivacy.audit.anchor: audit head {LINE}\n".encode() * 50)
    os.close(write_end)
    try:
        assert AnchorFile(f"/dev/fd/{read_end}").latest(required=True).head == HEAD
    finally:
        os.close(read_end)
