"""Retention: rules that really delete, anonymise, redact or shred, with plans, receipts and resume."""

from .defaults import RULE_PROVIDERS as RULE_PROVIDERS
from .defaults import default_rules as default_rules
from .rules import Exemption as Exemption
from .rules import Rule as Rule
from .rules import load_rules as load_rules
from .rules import parse_duration as parse_duration
from .rules import parse_rules as parse_rules
from .rules import rule_from_mapping as rule_from_mapping
from .service import Retention as Retention
from .sweeper import PlanLine as PlanLine
from .sweeper import Receipt as Receipt

__all__ = ["RULE_PROVIDERS", "Exemption", "PlanLine", "Receipt", "Retention", "Rule", "default_rules",
           "load_rules", "parse_duration", "parse_rules", "rule_from_mapping"]
