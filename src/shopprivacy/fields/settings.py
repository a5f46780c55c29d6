"""Settings of the encrypted-fields capability (``SHOPPRIVACY_FIELDS__*``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .access_policy import AccessPolicy


class FieldsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Length of blind indexes in bits (multiple of 8, 16-256); see docs/fields.md on choosing it.
    blind_index_bits: int = Field(128, ge=16, le=256)
    #: How long a process keeps an unwrapped subject key; a shred reaches other processes within this time.
    subject_key_cache_seconds: float = Field(5.0, ge=0, le=3600)
    #: Which staff role may read which field, and the read volume ``doctor`` reports (docs/fields.md).
    access: AccessPolicy = Field(default_factory=AccessPolicy)

    @field_validator("blind_index_bits")
    @classmethod
    def _whole_bytes(cls, value: int) -> int:
        if value % 8:
            raise ValueError("must be a multiple of 8")
        return value
