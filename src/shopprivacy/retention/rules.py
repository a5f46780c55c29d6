"""Retention rules, declared in code (:class:`Rule`) or TOML (:func:`load_rules`).

A rule names an entity (an SDK table, a table of the shop's own database, or the audit log), the anchor
column that starts the clock, how long rows are kept, what happens after that, and which rows are exempt.
Several rules on one table with different anchors and periods give split windows (payment references
can expire years before the rest of an order).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import RuleError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 installs tomli through a marker dependency
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

_DURATION = re.compile(r"^\s*(\d{1,6})\s*(h|hours?|d|days?|w|weeks?|m|months?|y|years?)\s*$", re.IGNORECASE)
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
_IDENT = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"

Action = Literal["delete", "anonymise", "redact", "shred", "truncate"]


def parse_duration(text: str) -> timedelta:
    """``"30d"``, ``"12 weeks"``, ``"6 months"`` (30 days), ``"7y"`` (365 days), ``"48h"``."""
    if not isinstance(text, str):
        raise ValueError("a duration is text such as '30d' or '7 years'")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"cannot read the duration {text[:40]!r}; use e.g. '30d', '12 weeks', '7 years'")
    n, unit = int(match.group(1)), match.group(2).lower()
    if unit.startswith("h"):
        return timedelta(hours=n)
    return timedelta(days=n * _UNIT_DAYS[unit[0]])


class Exemption(BaseModel):
    """Rows this rule must not touch.

    ``active_subscription`` / ``unpaid_invoice``: rows whose ``column`` holds one of ``values``;
    ``legal_hold``: rows whose key is held in ``sp_legal_holds`` (``sp.retention.hold(...)``);
    ``restricted``: rows whose ``column`` holds the ``identifier`` (``email``, ``phone`` or ``customer_id``, in
    clear) of a person who restricted processing (a rights request, GDPR Art. 18): kept while restricted.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["active_subscription", "unpaid_invoice", "legal_hold", "restricted"]
    column: str | None = Field(None, pattern=_IDENT)
    values: tuple[str, ...] = ()
    identifier: Literal["email", "phone", "customer_id"] = "email"

    @model_validator(mode="after")
    def _complete(self) -> Exemption:
        if self.kind == "legal_hold":
            return self
        if self.kind == "restricted":
            if self.column is None:
                raise ValueError("the restricted exemption needs the column that holds the person's identifier")
            return self
        if self.column is None:
            raise ValueError(f"the {self.kind} exemption needs the column that holds the status")
        if not self.values:
            defaults = {"active_subscription": ("active", "paused", "past_due", "trialing"),
                        "unpaid_invoice": ("unpaid", "open", "past_due", "pending")}
            return self.model_copy(update={"values": defaults[self.kind]})
        return self


class Rule(BaseModel):
    """One retention rule. ``entity``: ``"sdk"`` (a table of the SDK's database), ``"sql"`` (a table of the
    shop's database at ``database_url``), ``"platform"`` (objects of kind ``table`` through an adapter that
    implements ``PlatformRetention``) or ``"audit"`` (the audit log, truncated by ``AuditLog.truncate``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,79}$")
    entity: Literal["sdk", "sql", "platform", "audit"] = "sdk"
    table: str | None = Field(None, pattern=_IDENT)
    database_url: str | None = Field(None, repr=False)
    key: str = Field("id", pattern=_IDENT)
    anchor: str = Field("created_at", pattern=_IDENT)
    keep_for: timedelta
    action: Action = "delete"
    fields: tuple[str, ...] = ()
    replace: Mapping[str, str | int | None] = Field(default_factory=dict)
    where: Mapping[str, str | int | bool] = Field(default_factory=dict)
    subject_column: str | None = Field(None, pattern=_IDENT)
    exempt: tuple[Exemption, ...] = ()
    batch_size: int = Field(500, ge=1, le=10_000)
    #: Aimed-at length of one batch in milliseconds: the batch size adapts to it (``batch_size`` is the first
    #: batch's size, 1-10 000 rows). 0 keeps every batch at ``batch_size``.
    batch_ms: int = Field(50, ge=0, le=10_000)
    description: str = Field("", max_length=300)

    @field_validator("keep_for", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("fields", "where")
    @classmethod
    def _identifiers(cls, value: Any) -> Any:
        for name in value:
            if not re.match(_IDENT, name):
                raise ValueError(f"{str(name)[:40]!r} is not a column name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.keep_for < timedelta(hours=1):
            raise ValueError("keep_for must be at least one hour")
        if self.entity == "audit":
            if self.action != "truncate":
                raise ValueError("the audit log is only truncated (action = 'truncate')")
            return self
        if self.action == "truncate":
            raise ValueError("'truncate' is for the audit log only")
        if self.table is None:
            raise ValueError(f"a {self.entity} rule needs a table (for platform rules: the object kind)")
        if self.entity == "sql" and not self.database_url:
            raise ValueError("an sql rule needs the shop database_url")
        if self.action in ("anonymise", "redact") and not self.fields:
            raise ValueError(f"'{self.action}' needs the fields to change")
        if self.action == "shred" and not self.subject_column:
            raise ValueError("'shred' needs subject_column (whose key is shredded)")
        unknown = set(self.replace) - set(self.fields)
        if unknown:
            raise ValueError("replace names columns not in fields: " + ", ".join(sorted(unknown)))
        for column in (self.key, self.anchor, *self.fields, *(self.subject_column or "",)):
            if column and (column in self.where):
                raise ValueError(f"{column!r} is both filtered and changed")
        return self

    @property
    def entity_name(self) -> str:
        """The name legal holds use for this rule's rows."""
        return self.table or "audit"


def rule_from_mapping(name: str, data: Mapping[str, Any]) -> Rule:
    """A rule from a mapping; a malformed one raises :class:`RuleError` naming the rule."""
    if not isinstance(data, Mapping):
        raise RuleError(str(name)[:80], "must be a table of settings")
    try:
        return Rule.model_validate({"name": name, **dict(data)})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "rule"
        raise RuleError(str(name)[:80], f"{where}: {err['msg']}") from None


def parse_rules(text: str) -> list[Rule]:
    """Rules from TOML text: one ``[rules.<name>]`` table per rule."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError("<file>", f"not valid TOML ({exc})") from None
    unknown = set(doc) - {"rules"}
    if unknown:
        raise RuleError("<file>", "unknown top-level keys: " + ", ".join(sorted(unknown)[:5]))
    rules = doc.get("rules", {})
    if not isinstance(rules, dict):
        raise RuleError("<file>", "'rules' must be a table of rules")
    return [rule_from_mapping(name, data) for name, data in rules.items()]


def load_rules(path: str | Path) -> list[Rule]:
    """Rules from a TOML file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError("<file>", f"cannot read {Path(path).name}: {exc.strerror}") from None
    return parse_rules(text)


def check_unique(rules: Iterable[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise RuleError(rule.name, "declared twice")
        seen.add(rule.name)
