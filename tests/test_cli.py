import json

import pytest
from sqlalchemy import update

from shopprivacy import Keyset
from shopprivacy.cli import main
from shopprivacy.store import Store
from shopprivacy.store.schema import audit_log


@pytest.fixture
def env(tmp_path, db_url, monkeypatch):
    keyfile = tmp_path / "keys.json"
    monkeypatch.setenv("SHOPPRIVACY_KEYSET_FILE", str(keyfile))
    monkeypatch.setenv("SHOPPRIVACY_DATABASE_URL", db_url)
    monkeypatch.setenv("SHOPPRIVACY_PLATFORM_OPTIONS", json.dumps({"database_url": f"sqlite:///{tmp_path}/shop.db"}))
    return keyfile


def test_keys_generate_rotate_promote_retire_list(env, capsys):
    assert main(["keys", "generate", "--out", str(env)]) == 0
    first = Keyset.from_file(env)
    assert main(["keys", "generate", "--out", str(env)]) == 2  # never overwrite silently
    assert main(["keys", "rotate", "--stage"]) == 0
    staged = Keyset.from_file(env)
    assert staged.primary == first.primary and len(staged.ids) == 2
    assert main(["keys", "promote", staged.ids[1]]) == 0
    assert Keyset.from_file(env).primary == staged.ids[1]
    assert main(["keys", "retire", staged.ids[1]]) == 2  # primary cannot be retired
    assert main(["keys", "retire", first.primary]) == 0
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    out = capsys.readouterr().out
    assert staged.ids[1] in out and "primary" in out and first.primary not in out


def test_keys_generate_to_stdout_is_valid(capsys):
    assert main(["keys", "generate"]) == 0
    Keyset.from_json(capsys.readouterr().out)


def test_db_upgrade_audit_verify_run_due_doctor(env, db_url, capsys):
    main(["keys", "generate", "--out", str(env)])
    assert main(["db", "status"]) == 1
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert "already" in capsys.readouterr().out
    assert main(["db", "status"]) == 0
    assert main(["audit", "verify"]) == 0
    assert main(["run-due", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["delivered"] == 0
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "schema" in out and "adapter 'local' loaded" in out


def test_audit_verify_names_the_broken_entry(env, db_url, capsys):
    from shopprivacy import ShopPrivacy

    main(["keys", "generate", "--out", str(env)])
    main(["db", "upgrade"])
    sp = ShopPrivacy.from_env()
    for i in range(3):
        sp.audit.record(actor="cli-test", action="x", meta={"i": i})
    sp.close()
    st = Store.from_url(db_url)
    with st.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="someone"))
    st.dispose()
    capsys.readouterr()
    assert main(["audit", "verify"]) == 1
    assert "audit entry 2 was modified" in capsys.readouterr().err


def test_doctor_reports_problems_in_plain_words(env, capsys, monkeypatch):
    assert main(["doctor"]) == 1  # no keyset yet, schema missing
    out = capsys.readouterr().out
    assert "problem" in out and "shopprivacy keys generate" in out
    main(["keys", "generate", "--out", str(env)])
    capsys.readouterr()
    assert main(["doctor"]) == 1
    assert "shopprivacy db upgrade" in capsys.readouterr().out
    monkeypatch.setenv("SHOPPRIVACY_PLATFORM", "nosuch")
    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["doctor"]) == 1
    assert "installed: local" in capsys.readouterr().out


def test_configuration_errors_exit_2_with_a_message(env, capsys, monkeypatch):
    monkeypatch.setenv("SHOPPRIVACY_DATABASE_URL", "mysql://nope")
    assert main(["run-due"]) == 2
    assert "SHOPPRIVACY_DATABASE_URL" in capsys.readouterr().err


def test_outbox_dead_and_requeue(env, capsys):
    from shopprivacy import ShopPrivacy
    from shopprivacy.errors import PermanentFailure

    main(["keys", "generate", "--out", str(env)])
    main(["db", "upgrade"])
    sp = ShopPrivacy.from_env()

    def fail(d):
        raise PermanentFailure("gone")

    sp.outbox.register("demo.topic", fail)
    sp.outbox.add("demo.topic", {}, idempotency_key="k")
    sp.run_due()
    sp.close()
    capsys.readouterr()
    assert main(["outbox", "dead"]) == 0
    line = capsys.readouterr().out.strip()
    assert "demo.topic" in line and "PermanentFailure: gone" in line
    row_id = line.split()[0]
    assert main(["outbox", "requeue", row_id]) == 0
    assert main(["outbox", "requeue", row_id]) == 2


#: A real process running a command while its database goes away (tests/outages.py), with its real stderr.
_OUTAGE_SCRIPT = """
import sys
from shopprivacy import ShopPrivacy
from shopprivacy.cli import main
from tests.outages import database_outage
sp = ShopPrivacy.from_env()
with database_outage(sp.store.engine):
    code = main(sys.argv[1:], facade=lambda: sp)
sys.exit(code)
"""


@pytest.mark.parametrize("command", [["run-due"], ["db", "upgrade"]])
def test_a_database_going_away_mid_command_is_one_clean_line_and_exit_3(env, command, capsys):
    import os
    import subprocess
    import sys
    from pathlib import Path

    main(["keys", "generate", "--out", str(env)])
    main(["db", "upgrade"])
    capsys.readouterr()
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", _OUTAGE_SCRIPT, *command], cwd=root, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: the database ") and "try again later" in lines[0]
    assert "Traceback" not in done.stderr and "sqlalchemy" not in done.stderr.lower()


@pytest.fixture
def anchored(env, tmp_path, monkeypatch):
    """A migrated shop with three audit entries and an anchor file in a directory of its own."""
    from shopprivacy import ShopPrivacy

    (tmp_path / "anchor").mkdir(mode=0o700)
    path = tmp_path / "anchor" / "audit.jsonl"
    monkeypatch.setenv("SHOPPRIVACY_AUDIT__ANCHOR_PATH", str(path))
    main(["keys", "generate", "--out", str(env)])
    main(["db", "upgrade"])
    sp = ShopPrivacy.from_env()
    for i in range(3):
        sp.audit.record(actor="cli-test", action="x", meta={"i": i})
    sp.close()
    return path


def _cut_tail(db_url, keep):
    from sqlalchemy import delete, select

    from shopprivacy.store.schema import audit_head

    st = Store.from_url(db_url)
    with st.begin() as conn:
        mac = conn.execute(select(audit_log.c.mac).where(audit_log.c.seq == keep)).scalar_one()
        conn.execute(delete(audit_log).where(audit_log.c.seq > keep))
        conn.execute(update(audit_head).values(last_seq=keep, last_mac=mac))
    st.dispose()


def test_audit_verify_anchors_then_reports_a_cut_tail_one_line_per_problem(anchored, db_url, capsys):
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "intact: 3 entries" in out and "no anchor in" in out and "anchored entry 3" in out
    assert main(["audit", "verify"]) == 0
    assert "tail matches the anchor of" in capsys.readouterr().out
    _cut_tail(db_url, keep=1)
    assert main(["audit", "verify"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("audit chain BROKEN: ") for line in lines)
    assert any("entries 2-3 were cut off" in line for line in lines)
    assert any("seal does not match" in line for line in lines)
    assert len(anchored.read_text().splitlines()) == 1  # nothing anchored over the cut


def test_run_due_anchors_and_warns_when_it_cannot(anchored, db_url, capsys):
    assert main(["run-due"]) == 0
    assert json.loads(anchored.read_text())["last_seq"] == 3
    capsys.readouterr()
    assert main(["doctor"]) == 0
    assert f"chain intact, 3 entries; anchored in {anchored}" in capsys.readouterr().out
    _cut_tail(db_url, keep=2)
    capsys.readouterr()
    assert main(["run-due", "--json"]) == 0  # the shop's work goes on; the warning goes to cron's mail
    captured = capsys.readouterr()
    assert "warning: audit head not anchored" in captured.err
    assert "cut off" in json.loads(captured.out.splitlines()[-1])["audit_anchor_error"]


def test_audit_verify_against_an_anchor_file_given_on_the_command_line(anchored, db_url, tmp_path, capsys):
    main(["audit", "anchor"])
    shipped = tmp_path / "shipped.log"
    shipped.write_text("INFO shopprivacy.audit.anchor: audit head " + anchored.read_text())
    _cut_tail(db_url, keep=2)
    anchored.unlink()  # the attacker also removed the local anchor: the shipped copy still tells
    capsys.readouterr()
    assert main(["audit", "verify", "--anchor", str(shipped)]) == 1
    assert "entry 3 was cut off" in capsys.readouterr().err
    shipped.write_text("INFO shopprivacy.audit.anchor: audit head {garbled\n")
    assert main(["audit", "verify", "--anchor", str(shipped)]) == 2
    assert "is garbled" in capsys.readouterr().err
    assert main(["audit", "verify", "--anchor", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_audit_anchor_needs_the_setting_and_seal_upgrades_an_old_head(env, db_url, capsys):
    from shopprivacy import ShopPrivacy
    from shopprivacy.store.schema import audit_head

    main(["keys", "generate", "--out", str(env)])
    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["audit", "anchor"]) == 2
    assert "SHOPPRIVACY_AUDIT__ANCHOR_PATH" in capsys.readouterr().err
    sp = ShopPrivacy.from_env()
    sp.audit.record(actor="cli-test", action="x")
    sp.close()
    st = Store.from_url(db_url)
    with st.begin() as conn:
        conn.execute(update(audit_head).values(key_id=None, seal=None))
    st.dispose()
    assert main(["audit", "verify"]) == 1
    assert "run `shopprivacy audit seal` once" in capsys.readouterr().err
    assert main(["audit", "seal"]) == 0
    assert main(["audit", "seal"]) == 0
    assert capsys.readouterr().out.splitlines() == ["audit head sealed",
                                                    "nothing to seal: the audit head is absent or already sealed"]
    assert main(["audit", "verify"]) == 0
    assert "tail NOT checked" in capsys.readouterr().out
    assert main(["doctor"]) == 0
    assert "not anchored, so a cut tail goes unnoticed" in capsys.readouterr().out


def test_audit_verify_names_an_edited_consent_choice(env, db_url, capsys):
    from shopprivacy import ShopPrivacy
    from shopprivacy.consent.service import Choice
    from shopprivacy.consent.tables import consent_records

    main(["keys", "generate", "--out", str(env)])
    main(["db", "upgrade"])
    sp = ShopPrivacy.from_env()
    sp.consent.record(Choice(granted=frozenset(), method="reject_all"))
    sp.close()
    assert main(["audit", "verify"]) == 0
    st = Store.from_url(db_url)
    with st.begin() as conn:
        conn.execute(update(consent_records).values(method="accept_all", granted=["marketing"]))
    st.dispose()
    capsys.readouterr()
    assert main(["audit", "verify"]) == 1
    assert "proof row 1 of sp_consent_records differs" in capsys.readouterr().err


def test_urllib3_retry_notes_stay_out_of_the_output_unless_verbose(tmp_path, monkeypatch):
    """A platform that cannot be reached: urllib3 logs a WARNING per connect retry; the CLI prints only its own
    line (``-v`` shows them)."""
    import logging

    from shopprivacy.cli import main

    monkeypatch.setenv("SHOPPRIVACY_DATABASE_URL", f"sqlite:///{tmp_path}/sp.db")
    logging.getLogger("urllib3").setLevel(logging.NOTSET)
    main(["db", "upgrade"])
    assert logging.getLogger("urllib3").getEffectiveLevel() == logging.ERROR
    logging.getLogger("urllib3").setLevel(logging.NOTSET)
