"""Importing consent held before the SDK: imported proof with its source, time and level; the newer side wins;
re-importing changes nothing; bad records are counted and never half written; a checkpointed import resumes."""

import io
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from shopprivacy.email.importing import IMPORTED_OPT_IN, IMPORTED_UNSUBSCRIBED, STATES, parse_record
from shopprivacy.email.tables import consent_events
from shopprivacy.errors import AuditChainError, InvalidInput, NotOptedIn, SuppressedRecipient
from shopprivacy.platforms import ConsentPage
from shopprivacy.rights.model import Subject
from shopprivacy.store.schema import outbox
from shopprivacy.testing import row_counts

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
JANE = "jane@example.com"


def rec(state="subscribed", at=T0, **kw):
    out = {"address": kw.pop("address", JANE), "state": state, "opt_in_level": kw.pop("level", "confirmed_opt_in"),
           "consented_at": at.isoformat() if isinstance(at, datetime) else at,
           "source": kw.pop("source", "shopify:gid://shopify/Customer/1")}
    out.update(kw)
    return out


def proof(sp, action=None):
    q = select(func.count()).select_from(consent_events)
    if action:
        q = q.where(consent_events.c.action == action)
    with sp.store.begin(write=False) as conn:
        return int(conn.execute(q).scalar_one())


def test_an_imported_opt_in_is_proof_marked_imported_with_its_source_time_and_level(esp):
    report = esp.email.importing.run([rec(customer_ref="gid://shopify/Customer/1")])
    assert (report.imported, report.failed) == (1, 0)
    esp.email.guard(JANE, "newsletter")  # the send guard now lets marketing go
    esp.email.guard(JANE, "offers")  # Shopify's one consent covers every marketing list
    history = esp.email.subjects.history(JANE)
    assert {(h["list"], h["action"], h["at"], h["source"]) for h in history} == {
        (lid, IMPORTED_OPT_IN, T0.isoformat(), "import:confirmed_opt_in:shopify:gid://shopify/Customer/1")
        for lid in ("newsletter", "offers")}
    assert esp.audit.entries(action="email.imported_opt_in")[0].meta == {"list": "*", "level": "confirmed_opt_in"}
    with esp.store.begin(write=False) as conn:  # nothing is queued back to the platform
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 0
    esp.audit.verify()  # the imported proof rows are covered by the chain


def test_re_importing_changes_nothing_and_adds_no_proof(esp):
    batch = [rec(), rec("unsubscribed", T0 + timedelta(days=1), address="bob@example.com",
                        source="shopify:gid://shopify/Customer/2")]
    first = esp.email.importing.run(batch)
    counts, entries = row_counts(esp.store), len(esp.audit.entries())
    again = esp.email.importing.run(batch)
    assert (first.imported, again.imported, again.unchanged) == (2, 0, 2)
    assert row_counts(esp.store) == counts and len(esp.audit.entries()) == entries
    assert esp.email.is_suppressed("bob@example.com", "newsletter")


def test_a_local_choice_newer_than_the_imported_time_is_kept(esp, clock):
    clock.now = T0 + timedelta(days=2)
    esp.email.unsubscribe_address(JANE, "newsletter")
    report = esp.email.importing.run([rec(at=T0)])  # Shopify's consent is older than the local unsubscribe
    assert report.unchanged == 1 and proof(esp, IMPORTED_OPT_IN) == 0
    with pytest.raises(SuppressedRecipient):
        esp.email.guard(JANE, "newsletter")


def test_an_imported_unsubscribe_newer_than_a_local_opt_in_suppresses(esp, clock):
    clock.now = T0
    esp.email.opt_in.record(JANE, "newsletter", source="checkout", consent_text_version="v1", propagate=False)
    esp.email.guard(JANE, "newsletter")
    report = esp.email.importing.run([rec("unsubscribed", T0 + timedelta(hours=1), level="unknown")])
    assert report.imported == 1
    with pytest.raises(SuppressedRecipient):
        esp.email.guard(JANE, "newsletter")
    last = esp.email.subjects.history(JANE)[-1]
    assert (last["action"], last["at"], last["source"]) == (
        IMPORTED_UNSUBSCRIBED, (T0 + timedelta(hours=1)).isoformat(),
        "import:withdrawn:shopify:gid://shopify/Customer/1")


def test_an_older_imported_unsubscribe_leaves_a_newer_local_opt_in(esp, clock):
    clock.now = T0 + timedelta(days=1)
    esp.email.opt_in.record(JANE, "newsletter", source="checkout", consent_text_version="v1", propagate=False)
    assert esp.email.importing.run([rec("unsubscribed", T0, list="newsletter")]).unchanged == 1
    esp.email.guard(JANE, "newsletter")


def test_pending_and_never_subscribed_records_leave_no_trace(esp):
    counts = row_counts(esp.store)
    report = esp.email.importing.run([rec("pending"), rec("not_subscribed", None), rec("not_subscribed")])
    assert (report.skipped, report.imported) == (3, 0)
    assert row_counts(esp.store) == counts  # not even the address is stored
    with pytest.raises(NotOptedIn):
        esp.email.guard(JANE, "newsletter")


def test_not_subscribed_withdraws_an_older_opt_in(esp, clock):
    esp.email.importing.run([rec(at=T0)])
    report = esp.email.importing.run([rec("not_subscribed", T0 + timedelta(days=1), list="offers")])
    assert report.imported == 1 and esp.email.is_suppressed(JANE, "offers")
    esp.email.guard(JANE, "newsletter")


def test_bad_records_are_counted_reported_and_never_half_written(esp):
    counts = row_counts(esp.store)
    bad = [rec(at=None), rec(address="not-an-address"), rec(state="maybe"), rec(level="triple"),
           rec(at="2026-11-24T09:00:00"), rec(source="gid 1"), rec(list="receipts"), rec(list="nope"),
           {**rec(), "colour": "blue"}, "not a mapping"]
    report = esp.email.importing.run(bad)
    assert report.failed == len(bad) and report.imported == 0
    assert row_counts(esp.store) == counts
    assert report.errors[0] == ("record 1 (shopify:gid://shopify/Customer/1): a subscribed record needs "
                                "consented_at: without it there is no proof of when")
    assert "transactional" in report.errors[6] and "unknown mailing list 'nope'" in report.errors[7]
    assert all(JANE not in e for e in report.errors)  # no address in the report
    mixed = esp.email.importing.run([bad[0], rec(), bad[1]])
    assert (mixed.imported, mixed.failed) == (1, 2) and mixed.errors[1].startswith("record 3 ")


def test_the_subjects_export_shows_the_imported_proof(esp):
    esp.email.importing.run([rec(list="newsletter")])
    exported = esp.rights.sdk_source.export(Subject(email=JANE))
    (event,) = exported["email"]["consent_history"]
    assert event["action"] == IMPORTED_OPT_IN and event["source"].endswith("shopify:gid://shopify/Customer/1")


def test_audit_verify_names_an_edited_imported_row(esp):
    esp.email.importing.run([rec(list="newsletter")])
    esp.audit.verify()
    with esp.store.begin() as conn:
        row_id = conn.execute(select(consent_events.c.id)).scalar_one()
        conn.execute(update(consent_events).where(consent_events.c.id == row_id).values(at=T0 - timedelta(days=400)))
    with pytest.raises(AuditChainError, match=f"proof row {row_id} of sp_email_consent_events .* edited"):
        esp.audit.verify()


class Pages:
    """A platform's consent, ``size`` records a page; ``fail_at`` raises before handing that page out."""

    def __init__(self, records, size=2, fail_at=None):
        self.records, self.size, self.fail_at, self.asked = records, size, fail_at, []

    def marketing_consent_pages(self, *, after, lists):
        self.asked.append(after)
        start = int(after or 0)
        for i in range(start, len(self.records), self.size):
            if self.fail_at is not None and i // self.size == self.fail_at:
                raise ConnectionError("the platform went away")
            nxt = i + self.size
            yield ConsentPage(self.records[i:nxt], str(nxt) if nxt < len(self.records) else None)


def customers(n):
    return [rec(address=f"c{i}@example.com", source=f"shopify:gid://shopify/Customer/{i}", at=T0 + timedelta(i))
            for i in range(n)]


def test_an_interrupted_import_resumes_after_its_last_page(esp):
    source = Pages([*customers(3), rec(at=None), *customers(7)[4:]], size=2, fail_at=2)
    with pytest.raises(ConnectionError):
        esp.email.importing.run_source(source, name="shopify")
    assert proof(esp, IMPORTED_OPT_IN) == 3 * 2
    source.fail_at = None
    report = esp.email.importing.run_source(source, name="shopify")
    assert source.asked == [None, "4"] and report.resumed
    assert (report.imported, report.failed, report.pages, report.records) == (6, 1, 4, 7)
    assert report.errors == [  # the reason of a record refused before the interruption is kept
        "record 4 (shopify:gid://shopify/Customer/1): a subscribed record needs consented_at: without it there is "
        "no proof of when"]
    assert proof(esp, IMPORTED_OPT_IN) == 6 * 2
    again = esp.email.importing.run_source(source, name="shopify")  # finished: a new run reads everything again
    assert source.asked[-1] is None and (again.unchanged, again.imported, again.resumed) == (6, 0, False)
    assert proof(esp, IMPORTED_OPT_IN) == 6 * 2


def test_a_dry_run_writes_nothing(esp):
    counts = row_counts(esp.store)
    report = esp.email.importing.run_source(Pages([*customers(3), rec(at=None)]), name="shopify", dry_run=True)
    assert (report.imported, report.failed, report.dry_run) == (3, 1, True)
    assert row_counts(esp.store) == counts and esp.jobs.status("email.import:shopify:*") is None


def test_an_import_into_one_list(esp):
    report = esp.email.importing.run_source(Pages(customers(2)), name="shopify", list_id="offers")
    assert report.imported == 2
    assert esp.email.state("c0@example.com", "offers") == "subscribed"
    assert esp.email.state("c0@example.com", "newsletter") == "not_subscribed"


_text = st.one_of(st.none(), st.text(max_size=40), st.integers(), st.booleans(),
                  st.sampled_from([*STATES, "single_opt_in", "confirmed_opt_in", "unknown", "*", "newsletter",
                                   "2026-11-24T09:00:00+01:00", "2026-11-24T09:00:00Z", "2026-13-01T00:00:00Z",
                                   "jane@example.com", "shopify:gid://shopify/Customer/1", "woocommerce:customer/5"]))


@given(st.dictionaries(st.sampled_from(["address", "list", "state", "opt_in_level", "consented_at", "source",
                                        "customer_ref", "other"]), _text, max_size=8))
def test_the_record_parser_accepts_or_refuses_with_invalid_input(raw):
    try:
        parsed = parse_record(raw)
    except InvalidInput:
        return
    assert parsed.state in STATES and "@" in parsed.address and ":" in parsed.source
    assert parsed.consented_at is None or parsed.consented_at.utcoffset() == timedelta(0)
    assert parsed.state != "subscribed" or parsed.consented_at is not None


@given(st.sampled_from(STATES), st.sampled_from(["single_opt_in", "confirmed_opt_in", "unknown"]),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-14 * 60, 14 * 60))),
       st.from_regex(r"[a-z]{1,10}:[!-~]{1,60}", fullmatch=True))
def test_every_well_formed_record_parses(state, level, at, source):
    parsed = parse_record({"address": "a.b+c@example.org", "state": state.upper(), "opt_in_level": level,
                           "consented_at": at.isoformat(), "source": source})
    assert (parsed.state, parsed.opt_in_level, parsed.consented_at, parsed.list_id) == (state, level, at, "*")


def test_the_longest_source_is_kept_whole_in_the_proof(esp):
    longest = "p" * 30 + ":" + "i" * 65
    assert esp.email.importing.run([rec(source=longest, list="newsletter")]).imported == 1
    assert esp.email.subjects.history(JANE)[0]["source"] == f"import:confirmed_opt_in:{longest}"
    assert esp.email.importing.run([rec(source=longest + "i")]).failed == 1


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_drawn_on_a_terminal_and_silent_elsewhere(esp):
    tty, pipe = Terminal(), io.StringIO()
    esp.email.importing.run_source(Pages(customers(3)), name="shopify", stream=tty)
    esp.email.importing.run_source(Pages(customers(3)), name="shopify", stream=pipe)
    assert "\r\x1b[Kconsent import shopify: 3 in " in tty.getvalue()
    assert pipe.getvalue() == ""  # cron mails stay empty
