"""Retention settings (``SHOPPRIVACY_RETENTION__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class RetentionSettings(BaseModel):
    """``defaults``: apply the SDK's default rules; ``rules_file``: a TOML file of the shop's rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: bool = True
    rules_file: Path | None = None
