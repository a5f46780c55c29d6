"""Finding platform adapters by name through entry points."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from ..errors import AdapterNotFound, ConfigurationError

if TYPE_CHECKING:
    from ..settings import Settings

ENTRY_POINT_GROUP = "shopprivacy.adapters"


def available_adapters() -> list[str]:
    """Names of the installed adapters."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def load_adapter(name: str, settings: Settings) -> Any:
    """Build the adapter registered as ``name``; unknown names list what is installed."""
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        installed = ", ".join(available_adapters()) or "none"
        raise AdapterNotFound(
            f"no platform adapter named {name!r} is installed (installed: {installed}); "
            f"for Shopify or WooCommerce install shopprivacy-{name}",
            setting="SHOPPRIVACY_PLATFORM",
        )
    try:
        factory = found[0].load()
    except ImportError as exc:
        raise ConfigurationError(f"the {name!r} adapter failed to import: {exc}",
                                 setting="SHOPPRIVACY_PLATFORM") from None
    return factory(settings)
