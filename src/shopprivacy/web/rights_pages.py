"""Deprecated: the privacy portal moved to :mod:`shopprivacy.rights.pages`."""

from __future__ import annotations

import warnings

from ..rights.pages import ACTIONS as ACTIONS
from ..rights.pages import PACKAGE as PACKAGE
from ..rights.pages import RightsPages as RightsPages

warnings.warn("shopprivacy.web.rights_pages is deprecated; import from shopprivacy.rights.pages",
              DeprecationWarning, stacklevel=2)
