"""The breach register (GDPR Art. 33 and 34): incidents with the 72-hour clock, the affected subjects computed
from what the SDK knows, notices to them and the report to the authority. Reach it as ``sp.breaches``."""

from __future__ import annotations

from .inventory import StoredField as StoredField
from .inventory import StoreInfo as StoreInfo
from .model import AUTHORITY_DEADLINE as AUTHORITY_DEADLINE
from .model import Breach as Breach
from .model import Incident as Incident
from .model import IncidentUpdate as IncidentUpdate
from .model import NoticeText as NoticeText
from .model import Scope as Scope
from .model import parse_incident as parse_incident
from .model import parse_update as parse_update
from .notices import BreachNotice as BreachNotice
from .notices import Sender as Sender
from .service import Breaches as Breaches

__all__ = ["AUTHORITY_DEADLINE", "Breach", "BreachNotice", "Breaches", "Incident", "IncidentUpdate", "NoticeText",
           "Scope", "Sender", "StoreInfo", "StoredField", "parse_incident", "parse_update"]
