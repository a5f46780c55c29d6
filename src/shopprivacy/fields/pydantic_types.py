"""A pydantic type for models that hold decrypted values but serialise to tokens.

::

    class Customer(BaseModel):
        id: int
        email: Encrypted("customers.email")

    c = Customer(id=42, email="jane@example.com")        # holds Redacted("jane@example.com")
    repr(c)                                               # ... email=Redacted(<redacted>)
    c.model_dump(context={"fields": sp.fields, "row": 42})   # {"id": 42, "email": "spf1.k..."}
    Customer.model_validate(row, context={"fields": sp.fields, "row": 42})   # tokens are decrypted

Dumped without that context, the field serialises as ``"<redacted>"``: a model never leaks into a log.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, SerializationInfo, ValidationInfo

from .ciphertext import is_token
from .redacted import Redacted


def _binding(info: ValidationInfo | SerializationInfo) -> tuple[Any, Any] | None:
    ctx = info.context if isinstance(info.context, dict) else None
    if not ctx or "fields" not in ctx or "row" not in ctx:
        return None
    return ctx["fields"], ctx["row"]


def Encrypted(context: str) -> Any:
    """``Annotated[Redacted[str], ...]`` bound to ``context`` (``"table.column"``)."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, Redacted) or value is None:
            return value
        if is_token(value):
            binding = _binding(info)
            if binding is None:
                raise ValueError("a token needs context={'fields': sp.fields, 'row': <row id>} to be decrypted")
            fields, row = binding
            return Redacted(fields.decrypt(value, context=context, row=row))
        if not isinstance(value, str):
            raise ValueError("expected text")
        return Redacted(value)

    def serialize(value: Any, info: SerializationInfo) -> Any:
        if value is None:
            return None
        binding = _binding(info)
        if binding is None:
            return "<redacted>"
        fields, row = binding
        return fields.encrypt(value.reveal() if isinstance(value, Redacted) else value, context=context, row=row)

    return Annotated[Redacted[str], BeforeValidator(validate), PlainSerializer(serialize)]
