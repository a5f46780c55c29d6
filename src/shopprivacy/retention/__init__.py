"""Retention: rules that really delete, anonymise, redact or shred, with plans, receipts and resume.

Submodules load on first use, so ``shopprivacy.settings`` can import :mod:`.settings` without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = ["RULE_PROVIDERS", "Exemption", "PlanLine", "Receipt", "Retention", "Rule", "default_rules",
           "load_rules", "parse_duration", "parse_rules", "rule_from_mapping"]
