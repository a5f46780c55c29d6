"""What the Flask and Django integrations share: settings from framework config, CSP nonce, locale."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ..settings import ENV_PREFIX


def environ_with(config: Mapping[str, Any]) -> dict[str, str]:
    """``os.environ`` overlaid with the framework's ``SHOPPRIVACY_*`` settings (mappings as JSON)."""
    env = dict(os.environ)
    for key, value in config.items():
        if not key.startswith(ENV_PREFIX) or value is None:
            continue
        env[key] = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return env


def nested_to_flat(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``{"database_url": ..., "outbox": {...}}`` (Django's ``SHOPPRIVACY`` dict) as ``SHOPPRIVACY_*`` keys."""
    return {ENV_PREFIX + key.upper(): value for key, value in settings.items()}


#: The header the SDK's pages read their CSP nonce from (``shopprivacy.web``).
NONCE_HEADER = "X-CSP-Nonce"


def headers_with_nonce(headers: Mapping[str, str], nonce: str | None) -> dict[str, str]:
    """The request's headers with the framework's CSP nonce as ``X-CSP-Nonce``.

    A client-sent ``X-CSP-Nonce`` is always dropped: only the nonce the app put in its own
    ``Content-Security-Policy`` may reach the SDK's pages.
    """
    out = {k: v for k, v in headers.items() if k.lower() != NONCE_HEADER.lower()}
    if nonce:
        out[NONCE_HEADER] = nonce
    return out
