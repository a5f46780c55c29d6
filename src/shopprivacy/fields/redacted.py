"""A wrapper whose ``repr``, ``str``, format and logging never show the value it holds."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Redacted(Generic[T]):
    """Holds a decrypted value; ``.reveal()`` returns it, everything else prints ``<redacted>``."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return "Redacted(<redacted>)"

    def __str__(self) -> str:
        return "<redacted>"

    def __format__(self, spec: str) -> str:
        return "<redacted>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Redacted) and bool(self._value == other._value)

    def __hash__(self) -> int:
        return hash(("Redacted", self._value))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.is_instance_schema(cls)

    def __reduce__(self) -> Any:  # pickling keeps the value: pickles are data, not logs
        return (Redacted, (self._value,))
