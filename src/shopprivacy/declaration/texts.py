"""The words of the generated documents: the SDK's catalog for ``locale``, the declaration's own texts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from .. import i18n

PACKAGE = "shopprivacy.declaration"


class Words:
    """Catalog lookups and declaration texts in one language."""

    def __init__(self, locale: str | None, default: str = "en") -> None:
        self.locale = i18n.negotiate(i18n.available_locales(PACKAGE), requested=locale, default=default)
        self.catalog = i18n.catalog(PACKAGE, self.locale)
        #: The language asked for: the declaration's own texts may exist in it even where the catalog does not.
        self.requested = (locale or default).replace("_", "-")

    def __call__(self, key: str, **values: object) -> str:
        text = self.catalog[key]
        return text.format(**values) if values else text

    def pick(self, text: Mapping[str, str]) -> str:
        """The declaration's text in this language, else its base language, else English, else any."""
        if not text:
            return ""
        lowered = {k.lower(): v for k, v in text.items()}
        for tag in (self.requested, self.locale):
            found = lowered.get(tag.lower()) or lowered.get(tag.split("-", 1)[0].lower())
            if found:
                return found
        return lowered.get("en") or next(iter(text.values()))

    def period(self, span: timedelta) -> str:
        days = span.days
        if days == 0:
            return self._count("hours", span.seconds // 3600)
        for unit, size in (("years", 365), ("months", 30), ("weeks", 7)):
            if days % size == 0:
                return self._count(unit, days // size)
        return self._count("days", days)

    def _count(self, unit: str, n: int) -> str:
        """``period_<unit>`` with ``n``; exactly one uses the singular key (``period_year``)."""
        return self(f"period_{unit[:-1]}") if n == 1 else self(f"period_{unit}", n=n)
