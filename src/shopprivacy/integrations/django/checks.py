"""``manage.py check``: settings, keys and schema, in the words of ``shopprivacy doctor``."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Warning, register

from ...doctor import run_checks
from .runtime import settings_environ, spelling

_IDS = {"settings": "E001", "keys": "W001", "database": "W002", "schema": "W003", "platform": "W004"}


@register()
def shopprivacy_check(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    out: list[Error | Warning] = []
    for finding in run_checks(settings_environ(), spelling=spelling):
        if finding.level == "ok" or finding.check not in _IDS:
            continue
        code = _IDS[finding.check]
        kind = Error if code.startswith("E") else Warning
        hint = ("`manage.py migrate` upgrades the sp_ tables too" if finding.check == "schema"
                else "run `manage.py shopprivacy_doctor` for the full report")
        out.append(kind(finding.message, id=f"shopprivacy.{code}", hint=hint))
    return out
