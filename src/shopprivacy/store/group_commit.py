"""Group commit: small write transactions of concurrent threads of one process share one transaction.

A web server answering many one-click unsubscribes at once (gunicorn threads, a mail provider replaying a
burst) would otherwise pay a BEGIN, the audit head update and a COMMIT with its ``fsync`` per request, one after
the other. :class:`GroupCommit` lets the first thread to arrive lead: it takes every item waiting at that
moment (its own included), runs them in one transaction and wakes the others once it has committed. Nobody is
answered before their change is durable, and an item alone (one thread, a CLI, a test) runs exactly as a
transaction of its own would.

The items of a group are first *checked* together (reads only; a :class:`ShopPrivacyError` found for one item
fails that item alone) and then *applied* together, so the work can be set-based (one statement for many
rows). Should applying fail, the shared transaction is rolled back and every item of the group runs again in a
transaction of its own, so one bad item never costs the others their change nor commits half of itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection

from ..errors import ShopPrivacyError
from .engine import Store

__all__ = ["GroupCommit"]

Item = TypeVar("Item")
Checked = TypeVar("Checked")
Result = TypeVar("Result")


@dataclass
class _Slot(Generic[Item, Result]):
    item: Item
    done: bool = False
    result: Result | None = None
    error: BaseException | None = None


class GroupCommit(Generic[Item, Checked, Result]):
    """Runs items of concurrent callers in shared transactions.

    ``check(conn, items)`` may only read and returns, per item, what ``apply`` needs or the
    :class:`ShopPrivacyError` that item fails with; ``apply(conn, items, checked)`` writes the items that passed
    and returns their results in order. ``max_group`` bounds how many items one transaction holds.
    """

    def __init__(self, store: Store, *, check: Callable[[Connection, list[Item]], list[Checked | ShopPrivacyError]],
                 apply: Callable[[Connection, list[Item], list[Checked]], list[Result]],
                 max_group: int = 64) -> None:
        self._store = store
        self._check = check
        self._apply = apply
        self._max_group = max_group
        self._cond = threading.Condition()
        self._waiting: list[_Slot[Item, Result]] = []
        self._leading = False
        #: how many items the committed transactions held, and how many transactions (benchmarks and tests)
        self.items = self.transactions = 0

    def run(self, item: Item) -> Result:
        """Check and apply ``item``; returns once its transaction has committed (raises what it raised)."""
        slot: _Slot[Item, Result] = _Slot(item)
        if self._store.in_transaction():  # waiting for a leader could wait on this thread's own locks
            self._alone(slot)
            return self._answer(slot)
        with self._cond:
            self._waiting.append(slot)
        while True:
            with self._cond:
                while not slot.done and self._leading:
                    self._cond.wait()
                if slot.done:
                    break
                self._leading = True  # first come, first served: this slot is in a group soon
                group, self._waiting = self._waiting[:self._max_group], self._waiting[self._max_group:]
            try:
                self._lead(group)
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        return self._answer(slot)

    @staticmethod
    def _answer(slot: _Slot[Item, Result]) -> Result:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # a slot without error holds its result

    def _lead(self, group: list[_Slot[Item, Result]]) -> None:
        try:
            if len(group) == 1 or not self._together(group):
                for slot in group:
                    self._alone(slot)
        except BaseException as exc:  # interrupted: every caller not answered yet learns it
            for slot in group:
                if not slot.done:
                    slot.error = exc
            raise
        finally:
            for slot in group:
                slot.done = True

    def _together(self, group: list[_Slot[Item, Result]]) -> bool:
        """One transaction for the group; ``False`` (nothing kept) when applying it failed."""
        try:
            with self._store.begin() as conn:
                checked = self._check(conn, [slot.item for slot in group])
                passed = [(slot, c) for slot, c in zip(group, checked, strict=True)
                          if not isinstance(c, ShopPrivacyError)]
                results = self._apply(conn, [slot.item for slot, _ in passed], [c for _, c in passed])
        except Exception:  # noqa: BLE001 - any failure: nothing was kept, and each item learns its own
            return False  # rolled back: each item runs again alone and meets its own outcome
        for slot, c in zip(group, checked, strict=True):
            if isinstance(c, ShopPrivacyError):
                slot.error, slot.done = c, True
        for (slot, _), result in zip(passed, results, strict=True):
            slot.result, slot.done = result, True
        self.items += len(group)
        self.transactions += 1
        return True

    def _alone(self, slot: _Slot[Item, Result]) -> None:
        try:
            with self._store.begin() as conn:
                checked = self._check(conn, [slot.item])[0]
                if isinstance(checked, ShopPrivacyError):
                    raise checked
                slot.result = self._apply(conn, [slot.item], [checked])[0]
            self.items += 1
            self.transactions += 1
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread, which raises it
            slot.error = exc
        slot.done = True
