"""The sources a request runs over: the SDK's own, the shop's registered ones, and the platform's."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import InvalidInput
from ..platforms import PersonalDataHost, PlatformAdapter
from .builtin import PlatformSource, SdkSource
from .sources import DataSource

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,39}$")
#: Returns the platform adapter when the shop uses one (``None`` otherwise); called when needed, so an adapter
#: is loaded only by work that reaches the platform.
AdapterProvider = Callable[[], PlatformAdapter | None]
#: ``(request id, source name, platform customer id)``: queue the platform's erasure (see :mod:`.platform_erasure`).
QueueErase = Callable[[str, str, str], None]
#: The same for the platform's correction (see :mod:`.platform_rectify`).
QueueRectify = Callable[[str, str, str], None]


class SourceRegistry:
    """Holds the shop's sources (:meth:`register`) next to the built-in ones."""

    def __init__(self, sdk_source: SdkSource, adapter: AdapterProvider, queue_erase: QueueErase,
                 queue_rectify: QueueRectify | None = None) -> None:
        self.sdk_source = sdk_source
        self._adapter = adapter
        self._queue_erase, self._queue_rectify = queue_erase, queue_rectify
        self._sources: dict[str, DataSource] = {}

    def register(self, source: DataSource) -> None:
        """Add a shop source (e.g. a :class:`~.sources.TableSource`); names must be unique."""
        if not isinstance(source, DataSource):
            raise InvalidInput("a source needs name, find, export, rectify and erase")
        if not isinstance(source.name, str) or not _NAME.match(source.name) or source.name in self._sources \
                or source.name == self.sdk_source.name or source.name.startswith("platform:"):
            raise InvalidInput("a source name is 1-40 characters of a-z, 0-9, '_.:-', unique and not reserved")
        self._sources[source.name] = source

    @property
    def platform_source(self) -> PlatformSource | None:
        """The platform as a source, when the shop uses an adapter that holds personal data."""
        adapter = self._adapter()
        if adapter is None or not isinstance(adapter, PersonalDataHost):
            return None
        return PlatformSource(adapter, self._queue_erase, self._queue_rectify)

    def platform_name(self) -> str | None:
        """The adapter's name (``shopify``, ...), when the platform is a source."""
        platform = self.platform_source
        return None if platform is None else str(getattr(platform.adapter, "name", "") or "") or None

    def all(self, *, forwarded_by: str | None = None) -> list[DataSource]:
        """Every source, the SDK's own first (its suppression is written first) and the platform last.

        A request the platform itself forwarded (the request's ``forwarded_by`` is the adapter's name, e.g.
        Shopify's ``customers/redact``, also when it merged into a request the person opened) leaves the
        platform out: the platform handles its own data and asks only for what the shop's app holds.
        """
        out: list[DataSource] = [self.sdk_source, *self._sources.values()]
        platform = self.platform_source
        if platform is None or (forwarded_by is not None and forwarded_by == self.platform_name()):
            return out
        return [*out, platform]

    def shop(self) -> list[DataSource]:
        """The shop's registered sources only."""
        return list(self._sources.values())
