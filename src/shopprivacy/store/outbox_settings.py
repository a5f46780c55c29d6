"""Settings of the outbox (``Settings.outbox``), next to the outbox that reads them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OutboxSettings(BaseModel):
    """Delivery of platform side effects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(12, ge=1, le=100)
    base_delay_seconds: float = Field(5.0, gt=0)
    max_delay_seconds: float = Field(6 * 3600.0, gt=0)
    #: A row's lease while it is delivered; renewed every third of it while the handler runs.
    lease_seconds: float = Field(300.0, gt=0)
    #: Deprecated and unused: rows are claimed one at a time, just before their delivery. Still accepted so
    #: existing configurations keep starting.
    batch_size: int = Field(50, ge=1, le=10_000)
