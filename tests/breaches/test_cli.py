"""``shopprivacy breach ...`` through the CLI's main (a facade with a hand-moved clock), and ``doctor``."""

import argparse
import json
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from shopprivacy import Settings, ShopPrivacy
from shopprivacy.breaches.cli import parse_time
from shopprivacy.cli import main
from shopprivacy.doctor import run_checks

from .conftest import add_customer, incident, register_address


def test_breach_commands_with_the_clock_moved(bsp, clock, shop_engine, mailbox, tmp_path, capsys):
    register_address(bsp, "a@example.com")
    add_customer(bsp, shop_engine, 1, "a@example.com")
    file = tmp_path / "incident.json"
    file.write_text(json.dumps(incident(clock)), encoding="utf-8")

    def run(*argv):
        code = main(list(argv), facade=lambda: bsp)
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = run("breach", "open", str(file))
    assert code == 0 and "71 h left" in out
    breach_id = out.split()[0]
    assert run("breach", "list", "--overdue")[0] == 0
    clock.advance(hours=72)
    code, out, err = run("breach", "list", "--overdue")
    assert code == 1 and breach_id in out and "OVERDUE" in out and "Art. 33(1)" in err
    assert json.loads(run("breach", "list", "--json")[1])[0]["overdue"] is True
    code, out, _ = run("breach", "stores")
    assert "shop_customers.phone\tencrypted (subject key)" in out and "email.address\tencrypted (subject key)" in out
    code, out, _ = run("breach", "assess", breach_id)
    assert code == 0 and "subjects 1" in out
    (tmp_path / "update.json").write_text('{"high_risk": true}', encoding="utf-8")
    assert run("breach", "update", breach_id, str(tmp_path / "update.json"))[0] == 0
    code, out, _ = run("breach", "notify", breach_id, "--locale", "fr")
    assert code == 0 and out.startswith("1 notice(s) queued")
    assert run("run-due")[0] == 0 and mailbox.sent[0].locale == "fr"
    code, _, err = run("breach", "report", breach_id, "--reference", "CNIL-9")
    assert code == 2 and "reasons for the delay" in err
    code, out, _ = run("breach", "report", breach_id, "--at", "2026-11-27T10:00:00+01:00",
                       "--delay-reason", "weekend")
    assert code == 0 and "reported 2026-11-27 09:00Z (late, reasons recorded)" in out
    code, out, _ = run("breach", "show", breach_id)
    assert "notices: sent 1" in out and "reported" in out and "a@example.com" not in out
    assert run("breach", "export", breach_id, "--format", "html", "--out", str(tmp_path / "r.html"))[0] == 0
    assert "Art. 33(3)(b) Contact point" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert json.loads(run("breach", "show", breach_id, "--json")[1])["breach"] == breach_id
    assert run("breach", "close", breach_id)[0] == 0
    assert run("breach", "list")[1] == "" and breach_id in run("breach", "list", "--all")[1]
    assert run("breach", "show", "br_nope")[0] == 2
    (tmp_path / "bad.json").write_text('{"nature": 1}', encoding="utf-8")
    code, _, err = run("breach", "open", str(tmp_path / "bad.json"))
    assert code == 2 and err.startswith("error: incident:")
    assert run("breach", "open", str(tmp_path / "missing.json"))[0] == 2


def test_doctor_flags_a_breach_past_its_72_hours(settings, store, capsys):
    environ = {"SHOPPRIVACY_DATABASE_URL": settings.database_url,
               "SHOPPRIVACY_KEYSET": settings.keyset.get_secret_value()}
    sp = ShopPrivacy(Settings.from_env(environ), store=store)
    assert [f for f in run_checks(environ) if f.check == "breaches"][0].level == "ok"
    now = datetime.now(timezone.utc)
    doc = incident(type("C", (), {"now": now})(), scope={})
    sp.breaches.open({**doc, "discovered_at": (now - timedelta(hours=60)).isoformat()})
    found = [f for f in run_checks(environ) if f.check == "breaches"][0]
    assert found.level == "warning" and "12 h left" in found.message
    late = sp.breaches.open({**doc, "discovered_at": (now - timedelta(hours=80)).isoformat()})
    found = [f for f in run_checks(environ) if f.check == "breaches"][0]
    assert found.level == "problem" and late.id in found.message and "--delay-reason" in found.message
    assert main(["doctor"], environ) == 1
    assert "breaches" in capsys.readouterr().out
    sp.close()


@given(st.text(max_size=60))
def test_the_time_argument_parser(text):
    try:
        parsed = parse_time(text)
    except argparse.ArgumentTypeError:
        return
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)


def test_the_time_argument_needs_an_offset():
    assert parse_time("2026-11-27T10:00:00Z") == datetime(2026, 11, 27, 10, tzinfo=timezone.utc)
    for bad in ("2026-11-27T10:00:00", "tomorrow", ""):
        try:
            parse_time(bad)
        except argparse.ArgumentTypeError:
            continue
        raise AssertionError(bad)
