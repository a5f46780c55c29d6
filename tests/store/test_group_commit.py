"""GroupCommit: concurrent items share transactions, each caller answered only after its own commit, one bad
item costs nobody else anything."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from shopprivacy.errors import InvalidInput, NotFoundError, ShopPrivacyError
from shopprivacy.store.group_commit import GroupCommit

ROWS = Table("test_group_rows", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(40)))


@pytest.fixture
def rows(store):
    ROWS.metadata.create_all(store.engine)
    yield store
    ROWS.metadata.drop_all(store.engine)


def names(store) -> list[str]:
    with store.begin(write=False) as conn:
        return sorted(conn.execute(select(ROWS.c.name)).scalars())


class Work:
    """Items are names: ``missing*`` fail their check, ``poison*`` fail their apply, the rest become rows."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.hold.set()
        self.groups: list[list[str]] = []

    def check(self, conn, items: list[str]) -> list[str | ShopPrivacyError]:
        self.hold.wait(10)
        return [NotFoundError(f"{i} is not held") if i.startswith("missing") else i for i in items]

    def apply(self, conn, items: list[str], checked: list[str]) -> list[int]:
        self.groups.append(list(items))
        conn.execute(insert(ROWS), [{"name": n} for n in items])  # written first: a poison item must undo them
        if any(i.startswith("poison") for i in items):
            raise InvalidInput("poisoned")
        return [len(n) for n in items]


def grouped(store, **options) -> tuple[Work, GroupCommit]:
    work = Work()
    return work, GroupCommit(store, check=work.check, apply=work.apply, **options)


def run_concurrently(group: GroupCommit, work: Work, items: list[str]) -> dict[str, object]:
    """The first item leads alone while held; the others queue behind it and form one group once released."""
    outcome: dict[str, object] = {}

    def call(item: str) -> None:
        try:
            outcome[item] = group.run(item)
        except Exception as exc:
            outcome[item] = exc

    work.hold.clear()
    threads = [threading.Thread(target=call, args=(i,)) for i in items]
    threads[0].start()
    deadline = time.monotonic() + 10
    while not group._leading and time.monotonic() < deadline:
        time.sleep(0.001)
    for t in threads[1:]:
        t.start()
    while len(group._waiting) < len(items) - 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    work.hold.set()
    for t in threads:
        t.join(10)
    return outcome


def test_an_item_alone_is_one_transaction(rows):
    _, group = grouped(rows)
    assert group.run("abc") == 3
    assert names(rows) == ["abc"] and group.transactions == 1


def test_concurrent_items_share_one_transaction_and_all_commit(rows):
    work, group = grouped(rows)
    items = ["first", "a", "bb", "ccc", "dddd"]
    outcome = run_concurrently(group, work, items)
    assert outcome == {i: len(i) for i in items}
    assert work.groups == [["first"], ["a", "bb", "ccc", "dddd"]]
    assert group.transactions == 2 and group.items == 5
    assert names(rows) == sorted(items)


def test_a_failed_check_fails_that_item_alone(rows):
    work, group = grouped(rows)
    outcome = run_concurrently(group, work, ["first", "a", "missing-b", "c"])
    assert isinstance(outcome["missing-b"], NotFoundError)
    assert outcome["a"] == 1 and outcome["c"] == 1
    assert work.groups[1] == ["a", "c"] and names(rows) == ["a", "c", "first"]


def test_a_failing_apply_rolls_back_the_group_and_each_item_runs_alone(rows):
    work, group = grouped(rows)
    outcome = run_concurrently(group, work, ["first", "a", "poison-b", "c"])
    assert isinstance(outcome["poison-b"], InvalidInput)
    assert outcome["a"] == 1 and outcome["c"] == 1
    assert work.groups[1:] == [["a", "poison-b", "c"], ["a"], ["poison-b"], ["c"]]
    assert names(rows) == ["a", "c", "first"]  # nothing of the poisoned group, nor of the poison item, kept


def test_groups_are_bounded(rows):
    work, group = grouped(rows, max_group=2)
    items = ["first", "a", "b", "c", "d", "e"]
    outcome = run_concurrently(group, work, items)
    assert outcome == {i: len(i) for i in items}
    assert [len(g) for g in work.groups] == [1, 2, 2, 1]


def test_no_caller_returns_before_its_commit(rows):
    _, group = grouped(rows)
    seen: dict[str, int] = {}

    def call(item: str) -> None:
        group.run(item)
        with rows.begin(write=False) as conn:  # a fresh connection sees the row once run() returned
            seen[item] = conn.execute(select(func.count()).select_from(ROWS).where(ROWS.c.name == item)).scalar_one()

    threads = [threading.Thread(target=call, args=(f"n{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {f"n{i}": 1 for i in range(8)}


def test_a_caller_inside_a_transaction_of_the_store_runs_alone_without_waiting(rows):
    """Waiting for a leader there could deadlock (the leader may need a lock this thread's transaction holds)."""
    _, group = grouped(rows)
    group._leading = True  # another thread leads a group (and would never finish while this thread waits)
    with rows.begin(write=False):
        assert rows.in_transaction()
        assert group.run("inner") == 5  # at once, in a transaction of its own
    assert not rows.in_transaction() and not group._waiting
    assert names(rows) == ["inner"]
