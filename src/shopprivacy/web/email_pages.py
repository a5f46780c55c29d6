"""Deprecated: the e-mail pages moved to :mod:`shopprivacy.email.pages`."""

from __future__ import annotations

import warnings

from ..email.pages import PACKAGE as PACKAGE
from ..email.pages import EmailPages as EmailPages

warnings.warn("shopprivacy.web.email_pages is deprecated; import EmailPages from shopprivacy.email.pages",
              DeprecationWarning, stacklevel=2)

__all__ = ["PACKAGE", "EmailPages"]
