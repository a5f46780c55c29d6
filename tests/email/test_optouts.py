"""Opt-outs applied as a group (one transaction, one statement per table) end exactly as the same opt-outs run
one after the other; concurrent one-click unsubscribes share transactions and each is durable on return."""

from __future__ import annotations

import itertools
import threading

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shopprivacy.email import records
from shopprivacy.email.optouts import OptOut
from shopprivacy.email.records import Meta
from shopprivacy.email.tables import consent_events, subscriptions, suppressions
from shopprivacy.errors import NotFoundError
from shopprivacy.store.schema import outbox

from .conftest import token_of

LISTS = ["newsletter", "offers", "*"]
_run = itertools.count()


def outcome(sp, subjects: list[str], bidxs: list[str]) -> list[object]:
    """Everything an opt-out writes, per person (by position), without pseudonyms or times."""
    found: list[object] = []
    with sp.store.begin(write=False) as conn:
        for subject, bidx in zip(subjects, bidxs, strict=True):
            states = sorted((r.list_id, r.state) for r in conn.execute(
                select(subscriptions).where(subscriptions.c.subject == subject)))
            held = sorted(conn.execute(select(suppressions.c.list_id).where(suppressions.c.address_bidx == bidx))
                          .scalars())
            proofs = conn.execute(select(func.count()).select_from(consent_events)
                                  .where(consent_events.c.subject == subject)).scalar_one()
            queued = sorted(p["list"] for p in conn.execute(select(outbox.c.payload)).scalars()
                            if p.get("subject") == subject)
            found.append((states, held, proofs, queued))
    return found


def people(sp, kind: str, subscribed: list[list[str]]) -> tuple[list[str], list[str]]:
    run = next(_run)
    subjects, bidxs = [], []
    with sp.store.begin() as conn:
        for n, lists in enumerate(subscribed):
            subject, bidx = sp.email.subjects.register(conn, f"{kind}{run}-{n}@example.com")
            for lid in lists:
                records.set_state(conn, subject=subject, list_id=lid, state="subscribed", level="confirmed",
                                  now=sp.clock())
            subjects.append(subject)
            bidxs.append(bidx)
    return subjects, bidxs


@hsettings(max_examples=40, deadline=None)
@given(subscribed=st.lists(st.lists(st.sampled_from(LISTS[:2]), unique=True), min_size=1, max_size=3),
       ops=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(LISTS)), min_size=1, max_size=8))
def test_a_group_ends_as_the_same_opt_outs_one_after_the_other(esp, subscribed, ops):
    ops = [(n % len(subscribed), lid) for n, lid in ops]
    suppression = esp.email.suppression
    g_subjects, g_bidxs = people(esp, "group", subscribed)
    s_subjects, s_bidxs = people(esp, "single", subscribed)
    items = [OptOut(g_subjects[n], lid, Meta(source="one-click"), "unsubscribed", esp.clock()) for n, lid in ops]
    with esp.store.begin() as conn:
        grouped = suppression._opt_outs.apply(conn, items, suppression._opt_outs.check(conn, items))
    single = [suppression.opt_out(s_subjects[n], lid, Meta(source="one-click"), reason="unsubscribed")
              for n, lid in ops]
    assert [c.changed for c in grouped] == [c.changed for c in single]
    assert outcome(esp, g_subjects, g_bidxs) == outcome(esp, s_subjects, s_bidxs)
    esp.audit.verify()  # every proof row covered by its entry, the chain whole


def test_concurrent_one_click_unsubscribes_share_transactions_and_are_durable_on_return(esp):
    tokens = [token_of(esp.email.unsubscribe_url(f"burst{i}@example.com", "newsletter")) for i in range(24)]
    done: list[bool] = []

    def click(token: str) -> None:
        esp.email.suppression.unsubscribe(token)
        done.append(esp.email.is_suppressed(f"burst{tokens.index(token)}@example.com", "newsletter"))

    threads = [threading.Thread(target=click, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    group = esp.email.suppression._group
    assert done == [True] * 24 and group.items == 24
    esp.audit.verify()


def test_a_subject_not_held_fails_its_own_opt_out_only(esp):
    kept = token_of(esp.email.unsubscribe_url("kept@example.com", "newsletter"))
    suppression = esp.email.suppression
    subject, list_id = suppression.read_unsubscribe(kept)
    items = [OptOut(s, list_id, Meta(source="one-click"), "unsubscribed", esp.clock())
             for s in (subject, "p_nobodyheldhereatall0000", subject)]
    with esp.store.begin() as conn:
        checked = suppression._opt_outs.check(conn, items)
        assert [isinstance(c, NotFoundError) for c in checked] == [False, True, False]
        changes = suppression._opt_outs.apply(conn, [items[0], items[2]], [checked[0], checked[2]])
    assert [c.changed for c in changes] == [True, False]  # the second is a repeat of the first
    assert esp.email.is_suppressed("kept@example.com", "newsletter")
