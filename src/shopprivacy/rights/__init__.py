"""Rights requests: verified access/export, rectification and erasure across the SDK, the shop's own data
and the platform, with legal deadlines. Reach it as ``sp.rights``."""

from __future__ import annotations

from .actions import Retain as Retain
from .deadlines import Deadlines as Deadlines
from .deadlines import add_business_days as add_business_days
from .deadlines import add_months as add_months
from .deadlines import due_dates as due_dates
from .model import FieldOutcome as FieldOutcome
from .model import Notice as Notice
from .model import Receipt as Receipt
from .model import RightsRequest as RightsRequest
from .model import SourceReceipt as SourceReceipt
from .model import Subject as Subject
from .service import Rights as Rights
from .settings import RightsSettings as RightsSettings
from .sources import DataSource as DataSource
from .sources import TableSource as TableSource

__all__ = ["DataSource", "Deadlines", "FieldOutcome", "Notice", "Receipt", "Retain", "Rights", "RightsRequest",
           "RightsSettings", "SourceReceipt", "Subject", "TableSource", "add_business_days", "add_months",
           "due_dates"]
