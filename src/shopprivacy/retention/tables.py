"""Retention tables (declared with the renewal tables; migration ``0005_renewals``)."""

from __future__ import annotations

from ..renewals.tables import legal_holds, retention_receipts

__all__ = ["legal_holds", "retention_receipts"]
