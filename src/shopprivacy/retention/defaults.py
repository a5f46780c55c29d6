"""Default rules for the SDK's own tables, and the way capabilities contribute theirs.

A capability contributes defaults by exposing ``retention_rules() -> list[Rule]`` in its own ``retention``
module; :data:`RULE_PROVIDERS` imports each one by name, so the dependency is visible in the import graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from ..consent.retention import retention_rules as consent_rules
from ..email.retention import retention_rules as email_rules
from .rules import Exemption, Rule

RuleProvider = Callable[[], list[Rule]]


def retention_rules() -> list[Rule]:
    """Foundation tables: delivered, superseded and dead outbox rows, webhook dedupe keys, finished jobs, old audit."""
    hold = (Exemption(kind="legal_hold"),)
    return [
        Rule(name="sdk.outbox.done", table="sp_outbox", anchor="done_at", keep_for=timedelta(days=30),
             where={"status": "done"}, exempt=hold,
             description="delivered platform side effects"),
        Rule(name="sdk.outbox.superseded", table="sp_outbox", anchor="done_at", keep_for=timedelta(days=30),
             where={"status": "superseded"}, exempt=hold,
             description="platform side effects made pointless by a newer one, never delivered"),
        Rule(name="sdk.outbox.dead", table="sp_outbox", anchor="updated_at", keep_for=timedelta(days=180),
             where={"status": "dead"}, exempt=hold,
             description="dead letters, kept long enough to inspect and requeue"),
        Rule(name="sdk.inbox", table="sp_inbox", key="delivery_id", anchor="received_at",
             keep_for=timedelta(days=30), description="webhook deduplication keys (platforms retry for days)"),
        Rule(name="sdk.jobs.done", table="sp_jobs", key="name", anchor="finished_at", keep_for=timedelta(days=90),
             where={"status": "done"}, description="finished job checkpoints"),
        Rule(name="sdk.renewal_attempts", table="sp_renewal_attempts", key="idempotency_key",
             anchor="updated_at", keep_for=timedelta(days=400), exempt=hold,
             description="renewal claims, kept past the longest billing interval"),
        Rule(name="sdk.retention_receipts", table="sp_retention_receipts", anchor="finished_at",
             keep_for=timedelta(days=3 * 365), description="receipts of past sweeps"),
        Rule(name="sdk.audit", entity="audit", action="truncate", anchor="at", keep_for=timedelta(days=3 * 365),
             description="audit entries older than three years (the chain stays verifiable)"),
    ]


#: The functions giving each capability's default rules; a capability that owns tables adds its own.
RULE_PROVIDERS: tuple[RuleProvider, ...] = (retention_rules, consent_rules, email_rules)


def default_rules(providers: Sequence[RuleProvider] | None = None) -> list[Rule]:
    """Every provider's rules, in provider order (default: the SDK's tables, consent's and e-mail's)."""
    rules: list[Rule] = []
    for provider in RULE_PROVIDERS if providers is None else providers:
        rules.extend(provider())
    return rules
