"""What erasure does to each column of a table-like source, and the receipt it gives: shared by
:class:`~.sources.TableSource` (SQLAlchemy tables) and the Django integration's ``ModelSource``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from .model import FieldOutcome, SourceReceipt


@dataclass(frozen=True)
class Retain:
    """Keep a field on erasure, for a stated reason (e.g. ``"invoice: tax law, 10 years"``)."""

    reason: str


Action = str | Retain  # "erase" | "anonymise" | Retain(reason)


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
