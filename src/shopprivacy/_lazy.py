"""Lazy package exports: a capability package names what it exports and where, and loads it on first use.

``shopprivacy.settings`` imports each capability's settings model; loading the whole capability (store,
keys, ...) at that moment would be slow and would import in a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``exports[name]`` (a submodule of ``package``) on first access."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{module}"), name)

    return __getattr__
