"""What the SDK knows about where personal data lives and how it is protected at rest: its own e-mail store and
the shop's sources registered with ``sp.rights``. The register's scope names these stores and fields."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidInput
from ..rights.sources import DataSource, TableSource

#: The SDK's own store of e-mail subjects (``sp_email_subjects``).
EMAIL_STORE = "email"
Protection = Literal["encrypted (subject key)", "encrypted (keyring key)", "keyed hash", "clear", "unknown"]
#: Protections that leave the data unintelligible to anyone without the keys (GDPR Art. 34(3)(a)).
UNINTELLIGIBLE: frozenset[str] = frozenset({"encrypted (subject key)", "encrypted (keyring key)", "keyed hash"})


@dataclass(frozen=True)
class StoredField:
    """One field of a store and how it is held at rest."""

    store: str
    field: str
    protection: Protection

    @property
    def name(self) -> str:
        return f"{self.store}.{self.field}"

    def unintelligible(self, keys_compromised: bool) -> bool:
        """Unreadable to an intruder: encrypted (or a keyed hash) under keys that were not compromised."""
        return self.protection in UNINTELLIGIBLE and not keys_compromised


@dataclass(frozen=True)
class StoreInfo:
    """A store: its fields, and the source behind it (``None``: the SDK's e-mail store)."""

    name: str
    fields: tuple[StoredField, ...]
    source: DataSource | None = None

    @property
    def enumerable(self) -> bool:
        """Whether the register can list the subjects it holds (the e-mail store and table sources)."""
        return self.source is None or isinstance(self.source, TableSource)


EMAIL_FIELDS = (StoredField(EMAIL_STORE, "address", "encrypted (subject key)"),
                StoredField(EMAIL_STORE, "address_bidx", "keyed hash"),
                StoredField(EMAIL_STORE, "customer_ref", "clear"))


def _table_fields(source: TableSource) -> tuple[StoredField, ...]:
    out: list[StoredField] = []
    for column in dict.fromkeys((source.subject_column, *source.fields)):
        if column == source.subject_column and source.blind_indexed:
            protection: Protection = "keyed hash"
        elif column in source.encrypted:
            protection = "encrypted (subject key)" if source.subject_key_column else "encrypted (keyring key)"
        else:
            protection = "clear"
        out.append(StoredField(source.name, column, protection))
    return tuple(out)


class Inventory:
    """The stores a breach scope may name; ``sources`` returns the shop's registered sources."""

    def __init__(self, sources: Callable[[], Sequence[DataSource]]) -> None:
        self._sources = sources

    def stores(self) -> dict[str, StoreInfo]:
        out = {EMAIL_STORE: StoreInfo(EMAIL_STORE, EMAIL_FIELDS)}
        for source in self._sources():
            fields = (_table_fields(source) if isinstance(source, TableSource)
                      else (StoredField(source.name, "*", "unknown"),))
            out[source.name] = StoreInfo(source.name, fields, source)
        return out

    def check(self, stores: Sequence[str], fields: Sequence[str]) -> dict[str, StoreInfo]:
        """The stores named, each with only the fields named for it (all when none is); InvalidInput with a
        suggestion for an unknown store or field."""
        known = self.stores()
        chosen: dict[str, StoreInfo] = {}
        for name in stores:
            info = known.get(name)
            if info is None:
                raise InvalidInput(f"scope: no store {name!r}{_suggest(name, known)}; stores: "
                                   + ", ".join(sorted(known)))
            named = [f.rsplit(".", 1)[1] for f in fields if f.rsplit(".", 1)[0] == name]
            if named:
                by_name = {f.field: f for f in info.fields}
                for field in named:
                    if field not in by_name:
                        raise InvalidInput(f"scope: store {name!r} has no field {field!r}{_suggest(field, by_name)}")
                info = StoreInfo(name, tuple(by_name[f] for f in dict.fromkeys(named)), info.source)
            chosen[name] = info
        return chosen


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
