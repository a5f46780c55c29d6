"""Retention: rules that really delete, anonymise, redact or shred, with plans, receipts and resume.

Submodules load on first use, so ``shopprivacy.settings`` can import :mod:`.settings` without a cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .defaults import RULE_PROVIDERS, default_rules
    from .rules import Exemption, Rule, load_rules, parse_duration, parse_rules, rule_from_mapping
    from .service import Retention
    from .sweeper import PlanLine, Receipt

_EXPORTS = {
    "RULE_PROVIDERS": "defaults", "default_rules": "defaults", "Exemption": "rules", "Rule": "rules",
    "load_rules": "rules", "parse_duration": "rules", "parse_rules": "rules", "rule_from_mapping": "rules",
    "Retention": "service", "PlanLine": "sweeper", "Receipt": "sweeper",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = ["RULE_PROVIDERS", "Exemption", "PlanLine", "Receipt", "Retention", "Rule", "default_rules",
           "load_rules", "parse_duration", "parse_rules", "rule_from_mapping"]
