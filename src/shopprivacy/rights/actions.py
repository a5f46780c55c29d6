"""What erasure and rectification do to the columns of a table-like source, and the receipt erasure gives:
shared by :class:`~.sources.TableSource` (SQLAlchemy tables) and the Django integration's ``ModelSource``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from .model import RECTIFIABLE, FieldOutcome, SourceReceipt


@dataclass(frozen=True)
class Retain:
    """Keep a field on erasure, for a stated reason (e.g. ``"invoice: tax law, 10 years"``)."""

    reason: str


Action = str | Retain  # "erase" | "anonymise" | Retain(reason)
#: Where a portal field is corrected: one column, or several (an encrypted column and its blind index).
Columns = str | Sequence[str]


def plan_actions(source: str, columns: Iterable[str], given: Mapping[str, Action] | None, default: Action, *,
                 nullable: Callable[[str], bool], textual: Callable[[str], bool],
                 anonymise_with: Mapping[str, Any], delete_rows: bool) -> dict[str, Action]:
    """The action of each of ``columns`` (``given`` over ``default``), checked: a retained column needs a
    reason, an erased one must be nullable (unless rows are deleted), an anonymised non-text one needs its
    replacement in ``anonymise_with``. ConfigurationError names the source and column."""
    actions: dict[str, Action] = {c: (given or {}).get(c, default) for c in dict.fromkeys(columns)}
    for col, action in actions.items():
        if isinstance(action, Retain):
            if not action.reason.strip():
                raise ConfigurationError(f"source {source!r}: retaining {col!r} needs a reason")
        elif action == "erase" and not nullable(col) and not delete_rows:
            raise ConfigurationError(f"source {source!r}: {col!r} is NOT NULL; anonymise or retain it")
        elif action == "anonymise" and col not in anonymise_with and not textual(col):
            raise ConfigurationError(f"source {source!r}: give anonymise_with[{col!r}] for a non-text column")
        elif action not in ("erase", "anonymise"):
            raise ConfigurationError(f"source {source!r}: unknown action {action!r} for {col!r}")
    return actions


def retained(actions: Mapping[str, Action]) -> bool:
    """Whether erasure keeps any column (then rows are updated, never deleted)."""
    return any(isinstance(a, Retain) for a in actions.values())


def erased_values(actions: Mapping[str, Action], anonymise_with: Mapping[str, Any]) -> dict[str, Any]:
    """The new value of every column that is not retained: NULL, or its anonymised stand-in."""
    return {c: None if a == "erase" else anonymise_with.get(c, "anonymised")
            for c, a in actions.items() if not isinstance(a, Retain)}


def erasure_receipt(source: str, actions: Mapping[str, Action], rows: int, *, deleted: bool,
                    shredded: int = 0, key_column: str | None = None) -> SourceReceipt:
    """The per-field receipt of erasing ``rows`` rows (``deleted``: the rows themselves were deleted);
    ``shredded`` subject keys of ``key_column`` are listed as crypto-shredded."""
    if not rows:
        return SourceReceipt(source, (FieldOutcome("*", "not_held"),))
    outcomes = [FieldOutcome(c, "retained", a.reason, rows) if isinstance(a, Retain) else
                FieldOutcome(c, "erased" if a == "erase" or deleted else "anonymised", rows=rows)
                for c, a in actions.items()]
    if shredded:
        outcomes.append(FieldOutcome(f"{key_column}:subject-key", "erased", "crypto-shredded", shredded))
    return SourceReceipt(source, tuple(outcomes), rows=rows)


def plan_rectify(source: str, rectify: Mapping[str, Columns], subject_column: str, key_column: str,
                  match: str) -> dict[str, tuple[str, ...]]:
    """``rectify`` with every value a tuple of columns, checked: known portal fields, at least one column
    each, no column written by two fields, never the key column, and the subject column only by the field it
    matches on (it is blind-indexed or compared as that identifier)."""
    plan: dict[str, tuple[str, ...]] = {}
    writer: dict[str, str] = {}
    for field_name, columns in rectify.items():
        if field_name not in RECTIFIABLE:
            raise ConfigurationError(f"source {source!r}: {field_name!r} cannot be corrected; rectify fields are "
                                     f"{', '.join(sorted(RECTIFIABLE))}")
        raw = (columns,) if isinstance(columns, str) else tuple(columns) if isinstance(columns, Sequence) else ()
        if not raw or not all(isinstance(c, str) and c for c in raw):
            raise ConfigurationError(f"source {source!r}: rectify[{field_name!r}] needs one or more column names")
        cols: tuple[str, ...] = tuple(dict.fromkeys(raw))
        for col in cols:
            if col in writer:
                raise ConfigurationError(f"source {source!r}: column {col!r} is corrected by both "
                                         f"{writer[col]!r} and {field_name!r}")
            if col == key_column:
                raise ConfigurationError(f"source {source!r}: the key column {col!r} cannot be corrected")
            if col == subject_column and field_name != match:
                raise ConfigurationError(f"source {source!r}: the subject column {col!r} holds the {match}; "
                                         f"{field_name!r} cannot be written to it")
            writer[col] = field_name
        plan[field_name] = cols
    return plan


def columns_of(plan: Mapping[str, tuple[str, ...]]) -> list[str]:
    return [c for cols in plan.values() for c in cols]
