"""Rights requests: verified access/export, rectification and erasure across the SDK, the shop's own data
and the platform, with legal deadlines. Reach it as ``sp.rights``.

Names load on first use, so ``shopprivacy.settings`` can import :mod:`.settings` without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .actions import Retain
    from .deadlines import Deadlines, add_business_days, add_months, due_dates
    from .model import FieldOutcome, Notice, Receipt, RightsRequest, SourceReceipt, Subject
    from .service import Rights
    from .settings import RightsSettings
    from .sources import DataSource, TableSource

_EXPORTS = {
    "Deadlines": "deadlines", "add_business_days": "deadlines", "add_months": "deadlines", "due_dates": "deadlines",
    "FieldOutcome": "model", "Notice": "model", "Receipt": "model", "RightsRequest": "model",
    "SourceReceipt": "model", "Subject": "model", "Rights": "service", "RightsSettings": "settings",
    "DataSource": "sources", "Retain": "actions", "TableSource": "sources",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = ["DataSource", "Deadlines", "FieldOutcome", "Notice", "Receipt", "Retain", "Rights", "RightsRequest",
           "RightsSettings", "SourceReceipt", "Subject", "TableSource", "add_business_days", "add_months",
           "due_dates"]
