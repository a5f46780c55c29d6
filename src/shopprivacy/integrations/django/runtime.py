"""The facade of a Django project, built once from ``settings.SHOPPRIVACY`` and the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings

from ...app import ShopPrivacy
from ...settings import Settings
from .._common import environ_with, nested_to_flat

#: Keys of ``settings.SHOPPRIVACY`` that configure the integration itself, not the SDK.
INTEGRATION_KEYS = frozenset({"url_prefix"})


def _config() -> dict[str, Any]:
    raw: dict[str, Any] = dict(getattr(settings, "SHOPPRIVACY", {}) or {})
    return {k: v for k, v in raw.items() if k not in INTEGRATION_KEYS}


def settings_environ() -> dict[str, str]:
    """The environment the SDK reads: ``SHOPPRIVACY_*`` variables overlaid with ``settings.SHOPPRIVACY``."""
    return environ_with(nested_to_flat(_config()))


def url_prefix() -> str:
    return str((getattr(settings, "SHOPPRIVACY", {}) or {}).get("url_prefix", "/privacy"))


@lru_cache(maxsize=1)
def get_sp() -> ShopPrivacy:
    """The project's facade (built on first use; ``get_sp.cache_clear()`` after changing settings in tests)."""
    return ShopPrivacy(Settings.from_env(settings_environ()))
