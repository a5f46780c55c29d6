"""Default retention of e-mail consent data.

- Confirmed double opt-in requests are deleted 30 days after confirmation: the proof lives on in
  ``sp_email_consent_events`` (unconfirmed ones are purged by ``run-due`` once expired and out of the re-send
  window); re-joining a list from the preference centre relies on that proof event, not on the request.
- The keyed IP and user-agent hashes of consent proof are redacted three years after the event (limitation
  periods); time, list, action, text version and source stay, so a confirmed opt-in remains provable for as
  long as the person stays subscribed.
- Addresses (``sp_email_subjects``) and suppressions have no time limit: an address is needed while the
  person is subscribed and leaves with an erasure request; a suppression must outlive the customer, or the
  person would be mailed again.
"""

from __future__ import annotations

from datetime import timedelta

from ..retention.rules import Exemption, Rule


def retention_rules() -> list[Rule]:
    hold = (Exemption(kind="legal_hold"),)
    return [
        Rule(name="sdk.email.confirmed_opt_in_requests", table="sp_email_pending_opt_ins", anchor="confirmed_at",
             keep_for=timedelta(days=30), exempt=hold,
             description="double opt-in requests, 30 days after confirmation (the proof is kept as an event)"),
        Rule(name="sdk.email.proof_network_hashes", table="sp_email_consent_events", anchor="at",
             keep_for=timedelta(days=3 * 365), action="redact", fields=("ip_hash", "ua_hash"), exempt=hold,
             description="IP and user-agent hashes of e-mail consent proof after three years"),
    ]
