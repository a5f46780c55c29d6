"""Django model fields reusing the core cipher: ``EncryptedCharField``, ``EncryptedTextField`` and
``BlindIndexField``. Values are bound to ``"<db_table>.<column>"``; a token copied to another column fails.

Row binding needs the row id, which a field does not see when Django builds the query, so these fields bind
to the column; use ``sp.fields.encrypt(..., row=pk)`` yourself where row binding matters.

``subject_field="id"`` encrypts each value under the key of the subject named by that field of the instance
(``sp.fields.encrypt(..., subject=...)``) when the model is saved: ``sp.fields.shred(<id>)`` then makes every
copy unreadable, in backups too. A value whose subject key is shredded loads as ``None``. The subject's
value must exist before the first save (a UUID or a key with a default; ``manage.py check`` refuses an
AutoField), and only ``save()`` encrypts under it: ``QuerySet.update()`` and ``bulk_update()`` write
column-bound tokens without the subject key, which shredding does not reach.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from ...errors import AccessDenied, ConfigurationError, ShreddedError
from ...fields.blind_index import Kind
from ...fields.ciphertext import is_token
from ...fields.reader import current_reader
from ...fields.redacted import Redacted
from .runtime import get_sp

COLUMN_ONLY_ROW = "*"


class Withheld(Redacted[None]):
    """A value the access policy did not let this staff role read: prints ``<redacted>``, reveals ``None``, and
    saving the instance keeps the stored token unchanged."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        super().__init__(None)
        self.token = token


class EncryptedField(models.TextField):
    """The base of the encrypted fields: a text column holding ``sp.fields`` tokens bound to the column."""

    def __init__(self, *args: Any, subject_field: str | None = None, **kwargs: Any) -> None:
        self.subject_field = subject_field
        super().__init__(*args, **kwargs)

    def _context(self) -> str:
        return f"{self.model._meta.db_table}.{self.column}"

    def check(self, **kwargs: Any) -> list[Any]:
        """``manage.py check``: ``subject_field`` must name a field whose value exists before the first save."""
        errors: list[Any] = super().check(**kwargs)
        if self.subject_field is None:
            return errors
        try:
            target = self.model._meta.get_field(self.subject_field)
        except FieldDoesNotExist:
            return [*errors, checks.Error(f"subject_field {self.subject_field!r} is not a field of this model",
                                          obj=self, id="shopprivacy.E101")]
        if isinstance(target, models.AutoField | models.BigAutoField | models.SmallAutoField):
            errors.append(checks.Error(
                f"subject_field {self.subject_field!r} is set by the database on insert, after the value is "
                "encrypted", hint="use a key the model sets itself, e.g. a UUIDField or a CharField with a default",
                obj=self, id="shopprivacy.E102"))
        return errors

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        reader = current_reader()
        try:
            if reader is not None:  # a staff user's request: checked against the access policy and audited
                return reader.decrypt(value, context=self._context(), row=COLUMN_ONLY_ROW)
            return get_sp().fields.decrypt(value, context=self._context(), row=COLUMN_ONLY_ROW)
        except ShreddedError:
            return None
        except AccessDenied:  # audited by the reader; the rest of the row still loads
            return Withheld(value)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = super().pre_save(model_instance, add)
        if self.subject_field is None or value is None or is_token(value) or isinstance(value, Withheld):
            return value
        subject = getattr(model_instance, self.subject_field, None)
        if subject in (None, ""):
            raise ConfigurationError(f"{self.model.__name__}.{self.name}: set {self.subject_field!r} before saving")
        return get_sp().fields.encrypt(str(value), context=self._context(), row=COLUMN_ONLY_ROW, subject=str(subject))

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Withheld):
            return value.token
        if value is None or is_token(value):
            return value
        return get_sp().fields.encrypt(str(value), context=self._context(), row=COLUMN_ONLY_ROW)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.subject_field is not None:
            kwargs["subject_field"] = self.subject_field
        return name, path, args, kwargs


class EncryptedTextField(EncryptedField):
    """A text column stored as an AES-GCM token (the model holds plaintext)."""


class EncryptedCharField(EncryptedField):
    """Like ``CharField`` for forms and validation (``max_length`` checks the plaintext); stored as text."""

    def __init__(self, *args: Any, max_length: int = 255, **kwargs: Any) -> None:
        self.plain_max_length = max_length
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs: Any) -> Any:
        return models.CharField(max_length=self.plain_max_length).formfield(**kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["max_length"] = self.plain_max_length
        return name, path, args, kwargs


class BlindIndexField(models.CharField):
    """Holds ``sp.fields.blind_index(<source field>, kind=...)``, filled on save, for equality lookups:
    ``Customer.objects.filter(email_bidx=BlindIndexField.of("jane@example.com", "email"))``."""

    def __init__(self, *args: Any, source: str = "", kind: Kind = "email", **kwargs: Any) -> None:
        self.source, self.kind = source, kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    @staticmethod
    def of(value: str, kind: Kind = "email") -> str:
        return get_sp().fields.blind_index(value, kind=kind)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = getattr(model_instance, self.source, None)
        if isinstance(value, Withheld):  # the source was not readable to this role: its index stays as loaded
            return getattr(model_instance, self.attname)
        index = None if value in (None, "") else self.of(str(value), self.kind)
        setattr(model_instance, self.attname, index)
        return index

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, kind=self.kind)
        return name, path, args, kwargs
