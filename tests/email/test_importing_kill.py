"""An import killed with SIGKILL mid-way resumes after its last checkpointed page: every record ends up
imported once, none twice."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select

from shopprivacy.email.importing import IMPORTED_OPT_IN
from shopprivacy.email.tables import consent_events
from shopprivacy.store import Jobs

IMPORTER = textwrap.dedent("""
    import json, sys, time
    from datetime import datetime, timedelta, timezone
    from shopprivacy import Settings, ShopPrivacy
    from shopprivacy.email.settings import EmailSettings, MailingList
    from shopprivacy.platforms import ConsentPage

    url, keyset, total, pause = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3]), float(sys.argv[4])
    T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)

    class Shop:
        def marketing_consent_pages(self, *, after, lists):
            for i in range(int(after or 0), total):
                time.sleep(pause)
                record = {"address": f"c{i}@example.com", "state": "subscribed", "opt_in_level": "single_opt_in",
                          "consented_at": (T0 + timedelta(minutes=i)).isoformat(),
                          "source": f"shopify:gid://shopify/Customer/{i}"}
                yield ConsentPage([record], str(i + 1) if i + 1 < total else None)

    settings = Settings(database_url=url, keyset=keyset, public_base_url="https://shop.example",
                        email=EmailSettings(lists={"newsletter": MailingList(names={"en": "Newsletter"})}))
    sp = ShopPrivacy(settings)
    report = sp.email.importing.run_source(Shop(), name="shopify")
    print(json.dumps({"resumed": report.resumed, **report.counts()}), flush=True)
""")


@pytest.mark.slow
def test_an_import_killed_with_sigkill_resumes_without_duplicates(sp, db_url, keyset, tmp_path):
    script, keys = tmp_path / "importer.py", tmp_path / "keyset.json"
    script.write_text(IMPORTER)
    keys.write_text(keyset.to_json())
    total = 40
    proc = subprocess.Popen([sys.executable, str(script), db_url, str(keys), str(total), "0.05"])
    jobs = Jobs(sp.store)

    def processed() -> int:
        status = jobs.status("email.import:shopify:*")
        return int(status["processed"]) if status else 0

    deadline = time.monotonic() + 60
    while processed() < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = processed()
    assert 5 <= done_before < total, "the import must be killed mid-way"

    out = subprocess.run([sys.executable, str(script), db_url, str(keys), str(total), "0"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["resumed"] and report["pages"] == total and report["failed"] == 0
    assert report["imported"] + report["unchanged"] == total  # a page cut short is read again: unchanged
    with sp.store.begin(write=False) as conn:
        rows = conn.execute(select(consent_events.c.subject, func.count()).where(
            consent_events.c.action == IMPORTED_OPT_IN).group_by(consent_events.c.subject)).all()
    assert len(rows) == total and {n for _, n in rows} == {1}  # every customer once, none twice
    assert jobs.status("email.import:shopify:*")["status"] == "done"
    sp.audit.verify()
