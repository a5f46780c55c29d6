"""Settings of the data declaration (``SHOPPRIVACY_DECLARATION__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class DeclarationSettings(BaseModel):
    """``file``: the shop's declaration (TOML, kept in its repository); ``notice_template``: a Markdown file with
    ``$who $purposes $retention $recipients $cookies $rights $version`` placeholders replacing the default layout;
    ``watch_cookies``: record the names of cookies the shop's responses set (the integrations turn it on in
    debug mode) so ``doctor`` can name undeclared ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path | None = None
    notice_template: Path | None = None
    watch_cookies: bool = False
