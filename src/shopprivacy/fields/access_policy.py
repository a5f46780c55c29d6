"""Which staff role may read which encrypted field (``SHOPPRIVACY_FIELDS__ACCESS__*``).

Fields are named as they are bound: ``"table.column"`` (the ``context`` of ``sp.fields``). Patterns use shell
wildcards (``"customers.*"``, ``"*"``). With no role declared every read is allowed (and audited); once roles
are declared, a role that is not declared reads nothing.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field, field_validator

_FIELD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-*?[]")


def _check_patterns(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        if not pattern or len(pattern) > 200 or not set(pattern) <= _FIELD_CHARS:
            raise ValueError(f"{pattern!r} is not a field pattern: write 'table.column', 'table.*' or '*'")
    return patterns


class RoleAccess(BaseModel):
    """The fields one role may read: ``read`` patterns, minus ``deny`` patterns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    read: list[str] = Field(default_factory=lambda: ["*"])
    deny: list[str] = Field(default_factory=list)

    _patterns = field_validator("read", "deny")(_check_patterns)

    def allows(self, field: str) -> bool:
        if any(fnmatchcase(field, p) for p in self.deny):
            return False
        return any(fnmatchcase(field, p) for p in self.read)


class AccessPolicy(BaseModel):
    """Roles and the fields they may read, and the daily read volume ``doctor`` calls unusual for one actor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: dict[str, RoleAccess] = Field(default_factory=dict)
    #: Reads by one actor within 24 hours above which ``shopprivacy doctor`` warns.
    unusual_daily_reads: int = Field(1000, ge=1)

    @field_validator("roles")
    @classmethod
    def _role_names(cls, value: dict[str, RoleAccess]) -> dict[str, RoleAccess]:
        for name in value:
            if not name or len(name) > 60 or not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"role {name!r} must be 1-60 letters, digits, '-' or '_'")
        return value

    def allows(self, role: str | None, field: str) -> bool:
        """Whether ``role`` may read ``field``; every read is allowed while no role is declared."""
        if not self.roles:
            return True
        rule = self.roles.get(role or "")
        return rule is not None and rule.allows(field)
