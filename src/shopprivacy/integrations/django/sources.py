"""``ModelSource``: a Django model as a rights-request data source (export, rectify, erase).

Register it from the ``SHOPPRIVACY["configure"]`` hook::

    def configure(sp):
        sp.rights.register_source(ModelSource(Customer, lookup="email_bidx", subject_key_field="id",
                                              fields=("email", "first_name", "phone"), delete_rows=True,
                                              rectify={"email": "email", "first_name": "first_name"}))

The model's own fields do the cryptography: ``EncryptedCharField`` values arrive decrypted, a corrected value
is encrypted again on save and a ``BlindIndexField`` follows its source field. Erasure shreds the subject keys
named by ``subject_key_field`` first, then deletes the rows or applies the per-field actions of
:mod:`shopprivacy.rights.actions` (``"erase"``, ``"anonymise"``, ``Retain(reason)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, models, transaction

from ...errors import ConfigurationError, ConflictError
from ...rights.actions import (
    Action,
    Columns,
    columns_of,
    erased_values,
    erasure_receipt,
    plan_actions,
    plan_rectify,
    retained,
)
from ...rights.model import FieldOutcome, SourceReceipt, Subject
from ...rights.sources import MATCHES, jsonable
from .fields import BlindIndexField, EncryptedField
from .runtime import get_sp


class ModelSource:
    """The rows of ``model`` about a subject, matched by ``lookup`` (a field holding the identifier named by
    ``match``, or its ``BlindIndexField``). ``fields`` are exported; ``rectify`` maps portal fields
    (``email``, ``first_name``, ...) to model fields; ``actions`` say per field what erasure does."""

    def __init__(self, model: type[models.Model], *, lookup: str, fields: Sequence[str], match: str = "email",
                 name: str | None = None, actions: Mapping[str, Action] | None = None,
                 default_action: Action = "erase", anonymise_with: Mapping[str, Any] | None = None,
                 delete_rows: bool = False, rectify: Mapping[str, Columns] | None = None,
                 subject_key_field: str | None = None) -> None:
        meta = model._meta
        self.model, self.name = model, name or meta.db_table
        if match not in MATCHES:
            raise ConfigurationError(f"source {self.name!r}: match must be one of {', '.join(MATCHES)}")
        pk = meta.pk.name if meta.pk is not None else "pk"
        plan = plan_rectify(self.name, rectify or {}, lookup, pk, match)
        named = {lookup, *fields, *(actions or {}), *columns_of(plan),
                 *([subject_key_field] if subject_key_field else [])}
        known = {f.name: f for f in meta.concrete_fields}
        missing = sorted(n for n in named if n not in known)
        if missing:
            raise ConfigurationError(f"source {self.name!r}: {model.__name__} has no field(s) {', '.join(missing)}")
        if isinstance(known[lookup], EncryptedField):
            raise ConfigurationError(f"source {self.name!r}: {lookup!r} is encrypted (random nonces never match); "
                                     "look up by its BlindIndexField")
        followed = getattr(known[lookup], "source", None) if isinstance(known[lookup], BlindIndexField) else None
        for field_name, cols in plan.items():  # the lookup's index follows its source: only the match moves it
            if followed in cols and field_name != match:
                raise ConfigurationError(f"source {self.name!r}: {lookup!r} indexes {followed!r}, which holds the "
                                         f"{match}; {field_name!r} cannot be written to it")
        for name_ in columns_of(plan):
            if isinstance(known[name_], BlindIndexField) or not known[name_].editable:
                raise ConfigurationError(f"source {self.name!r}: {name_!r} cannot be corrected (correct the field "
                                         "a blind index follows, never the index or a non-editable field)")
        self.lookup, self.match, self.fields = lookup, match, tuple(dict.fromkeys(fields))
        self.rectify_map = plan
        self.subject_key_field, self.delete_rows = subject_key_field, delete_rows
        self.anonymise_with = dict(anonymise_with or {})

        def field(name: str) -> Any:
            return known[name]

        self.actions = plan_actions(
            self.name, (c for c in (lookup, *self.fields) if c != pk), actions, default_action,
            nullable=lambda c: bool(field(c).null), anonymise_with=self.anonymise_with, delete_rows=delete_rows,
            textual=lambda c: isinstance(field(c), (models.CharField, models.TextField)))
        index = known[lookup]
        self._index = index if isinstance(index, BlindIndexField) else None

    def _queryset(self, subject: Subject) -> models.QuerySet[Any] | None:
        objects = self.model._default_manager
        if self.match == "order_id":
            if not subject.order_ids:
                return None
            ids = list(subject.order_ids)
            if self._index is not None:
                ids = [BlindIndexField.of(v, self._index.kind) for v in ids]
            return objects.filter(**{f"{self.lookup}__in": ids})
        value = subject.get(self.match)
        if value is None:
            return None
        if self._index is not None:
            return objects.filter(**{self.lookup: BlindIndexField.of(value, self._index.kind)})
        return objects.filter(**{f"{self.lookup}__iexact" if self.match == "email" else self.lookup: value})

    def find(self, subject: Subject) -> int:
        qs = self._queryset(subject)
        return 0 if qs is None else qs.count()

    def export(self, subject: Subject) -> Mapping[str, Any]:
        qs = self._queryset(subject)
        if qs is None:
            return {}
        rows = [jsonable(r) for r in qs.order_by("pk").values("pk", *self.fields)]
        return {"table": self.model._meta.db_table, "rows": rows} if rows else {}

    def rectify(self, subject: Subject, changes: Mapping[str, str]) -> SourceReceipt:
        qs = self._queryset(subject)
        wanted = {col: v for k, v in changes.items() for col in self.rectify_map.get(k, ())}
        if qs is None or not wanted:
            return SourceReceipt(self.name)
        try:
            with transaction.atomic(using=qs.db):
                rows = list(qs.select_for_update())
                for obj in rows:
                    for name, value in wanted.items():
                        setattr(obj, name, value)
                    obj.save()  # the model's fields re-encrypt, and blind indexes follow their source
        except IntegrityError:
            raise ConflictError(f"source {self.name!r}: the corrected value is already held by another row") from None
        outcomes = tuple(FieldOutcome(n, "corrected" if rows else "not_held", rows=len(rows)) for n in wanted)
        return SourceReceipt(self.name, outcomes, rows=len(rows))

    def _apply(self, qs: models.QuerySet[Any]) -> SourceReceipt:
        shredded = 0
        if self.subject_key_field is not None:  # keys first, committed before the rows change
            subjects = {str(s) for s in qs.values_list(self.subject_key_field, flat=True) if s not in (None, "")}
            fields = get_sp().fields
            shredded = sum(bool(fields.shred(s, actor="rights")) for s in sorted(subjects))
        deleted = self.delete_rows and not retained(self.actions)
        with transaction.atomic(using=qs.db):
            if deleted:
                rows = qs.delete()[1].get(self.model._meta.label, 0)
            else:
                values = erased_values(self.actions, self.anonymise_with)
                rows = qs.update(**values) if values else qs.count()
        return erasure_receipt(self.name, self.actions, rows, deleted=deleted, shredded=shredded,
                               key_column=self.subject_key_field)

    def erase(self, subject: Subject) -> SourceReceipt:
        qs = self._queryset(subject)
        if qs is None:
            return SourceReceipt(self.name, (FieldOutcome("*", "not_held", f"no {self.match} to match on"),))
        return self._apply(qs)

    def erase_all(self) -> SourceReceipt:
        """Apply the erasure actions to every row (a shop-wide redaction)."""
        return self._apply(self.model._default_manager.all())
