"""The facade of a Django project, built once from ``settings.SHOPPRIVACY`` and the environment."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from ...app import ShopPrivacy
from ...errors import ConfigurationError
from ...settings import ENV_PREFIX, Settings, env_spelling
from .._common import environ_with, nested_to_flat

#: Keys of ``settings.SHOPPRIVACY`` that configure the integration itself, not the SDK: ``url_prefix`` (where
#: the endpoints are mounted) and ``configure`` (the dotted path of a ``configure(sp)`` callable run once on the
#: new facade: register rights sources, set the mail senders), ``staff_identity`` (the dotted path of a
#: ``staff_identity(request)`` returning the signed-in staff user's ``Identity`` or ``None``; by default Django's
#: ``is_staff`` users, see ``StaffReadsMiddleware``) and ``signed_in_customer`` (the dotted path of a
#: ``customer(request)`` callable returning the signed-in customer's identifiers, or ``None``; default: the
#: e-mail address of an authenticated ``request.user``).
INTEGRATION_KEYS = frozenset({"url_prefix", "configure", "staff_identity", "signed_in_customer"})


def _config() -> dict[str, Any]:
    raw: dict[str, Any] = dict(getattr(settings, "SHOPPRIVACY", {}) or {})
    return {k: v for k, v in raw.items() if k not in INTEGRATION_KEYS}


def settings_environ() -> dict[str, str]:
    """The environment the SDK reads: ``SHOPPRIVACY_*`` variables overlaid with ``settings.SHOPPRIVACY``."""
    return environ_with(nested_to_flat(_config()))


def spelling(path: Sequence[str]) -> str:
    """A setting's name in messages: ``SHOPPRIVACY["outbox"]["max_attempts"]`` for what the ``SHOPPRIVACY`` dict
    sets (or could set), the variable's name for what only the environment sets."""
    top = path[0].lower() if path else ""
    from_env = any(name.startswith(env_spelling([top])) for name in os.environ if name.startswith(ENV_PREFIX))
    if from_env and top not in {k.lower() for k in _config()}:
        return env_spelling(path)
    return "SHOPPRIVACY" + "".join(f"[{p!r}]".replace("'", '"') for p in path)


def _integration(key: str, default: Any = None) -> Any:
    return (getattr(settings, "SHOPPRIVACY", {}) or {}).get(key, default)


def url_prefix() -> str:
    return str(_integration("url_prefix", "/privacy"))


def signed_in_customer(request: Any) -> dict[str, str] | None:
    """The signed-in customer's identifiers (``SHOPPRIVACY["signed_in_customer"]``, else the e-mail address of
    an authenticated ``request.user``), or None for a visitor."""
    hook = _integration("signed_in_customer")
    if hook:
        try:
            found = import_string(str(hook)) if isinstance(hook, str) else hook
        except ImportError as exc:
            raise ConfigurationError(f"SHOPPRIVACY['signed_in_customer']: cannot import {hook!r}") from exc
        identity = found(request)
        return dict(identity) if identity else None
    user = getattr(request, "user", None)
    email = getattr(user, "email", None) if getattr(user, "is_authenticated", False) else None
    return {"email": email} if isinstance(email, str) and "@" in email else None


@lru_cache(maxsize=1)
def get_sp() -> ShopPrivacy:
    """The project's facade, built on first use and handed to ``SHOPPRIVACY["configure"]`` when set
    (``get_sp.cache_clear()`` after changing settings in tests)."""
    sp = ShopPrivacy(Settings.from_env(settings_environ(), spelling=spelling))
    hook = _integration("configure")
    if hook:
        try:
            try:
                configure = import_string(str(hook)) if isinstance(hook, str) else hook
            except ImportError as exc:
                raise ConfigurationError(f"SHOPPRIVACY['configure']: cannot import {hook!r}") from exc
            configure(sp)
        except BaseException:
            sp.close()  # a half-configured facade is never handed out (nor its connections kept)
            raise
    return sp
