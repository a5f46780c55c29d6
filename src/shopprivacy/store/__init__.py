"""The SDK's durable store: engine, schema, audit chain and its anchor, outbox, job checkpoints."""

from .audit import AuditEntry, AuditLog, VerifyReport
from .audit_anchor import Anchor, AnchorFile, parse_anchor
from .audit_seal import AuditHead
from .engine import Store, make_engine
from .inbox import Inbox
from .jobs import JobHandle, Jobs
from .journal import ErasureJournal, ErasureJournalSettings
from .outbox import Delivery, DeliveryReport, Outbox
from .outbox_settings import OutboxSettings
from .restrictions import SubjectRestrictions
from .schema import metadata
from .types import UTCDateTime, utcnow

__all__ = [
    "Anchor",
    "AnchorFile",
    "AuditEntry",
    "AuditHead",
    "AuditLog",
    "Delivery",
    "DeliveryReport",
    "ErasureJournal",
    "ErasureJournalSettings",
    "Inbox",
    "JobHandle",
    "Jobs",
    "Outbox",
    "OutboxSettings",
    "Store",
    "SubjectRestrictions",
    "UTCDateTime",
    "VerifyReport",
    "make_engine",
    "metadata",
    "parse_anchor",
    "utcnow",
]
