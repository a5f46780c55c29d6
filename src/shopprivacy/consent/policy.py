"""The consent policy: declared categories and a version derived from their content (a change re-asks)."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property

from .settings import KNOWN, ConsentSettings


class Policy:
    """What the banner asks for. ``version`` is a hash of every declared category, cookie and service."""

    def __init__(self, settings: ConsentSettings) -> None:
        self.settings = settings

    @property
    def categories(self) -> list[str]:
        """Declared categories in display order, ``necessary`` first."""
        return [k for k in KNOWN if k in self.settings.categories]

    @property
    def optional(self) -> list[str]:
        return [k for k in self.categories if k != "necessary"]

    @cached_property
    def version(self) -> str:
        doc = {name: self.settings.categories[name].model_dump(mode="json") for name in self.categories}
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def check_categories(self, names: object) -> frozenset[str]:
        """Validate a list of optional category names from a request; raises ValueError on anything else."""
        if not isinstance(names, list) or len(names) > len(KNOWN):
            raise ValueError("categories must be a list")
        out = set()
        for name in names:
            if not isinstance(name, str) or name not in self.optional:
                raise ValueError("unknown category")
            out.add(name)
        return frozenset(out)
