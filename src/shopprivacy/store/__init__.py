"""The SDK's durable store: engine, schema, audit chain, outbox, job checkpoints."""

from .audit import AuditEntry, AuditLog, VerifyReport
from .engine import Store, make_engine
from .inbox import Inbox
from .jobs import JobHandle, Jobs
from .outbox import Delivery, DeliveryReport, Outbox
from .schema import metadata
from .types import UTCDateTime, utcnow

__all__ = [
    "AuditEntry",
    "AuditLog",
    "Delivery",
    "DeliveryReport",
    "Inbox",
    "JobHandle",
    "Jobs",
    "Outbox",
    "Store",
    "UTCDateTime",
    "VerifyReport",
    "make_engine",
    "metadata",
    "utcnow",
]
