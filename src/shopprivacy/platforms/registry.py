"""Finding platform adapters by name through entry points, and validating their ``platform_options``."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import AdapterNotFound, ConfigurationError

if TYPE_CHECKING:
    from ..settings import Settings

ENTRY_POINT_GROUP = "shopprivacy.adapters"
OPTIONS_SETTING = "SHOPPRIVACY_PLATFORM_OPTIONS"
Options = TypeVar("Options", bound=BaseModel)


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


def parse_platform_options(model: type[Options], options: Mapping[str, Any], platform: str) -> Options:
    """``options`` (``settings.platform_options``) validated by an adapter's pydantic ``model``. A failure
    raises ConfigurationError naming the first bad option as ``SHOPPRIVACY_PLATFORM_OPTIONS.<name>``, never
    its value (options hold access tokens)."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        setting = f"{OPTIONS_SETTING}.{name}" if name else OPTIONS_SETTING
        if err["type"] == "missing":
            message = f"{setting} is required for the {platform} adapter"
        elif err["type"] == "extra_forbidden":
            message = f"{setting} is not an option of the {platform} adapter"
        else:
            message = f"{setting}: {str(err['msg']).removeprefix('Value error, ')}"
        raise ConfigurationError(message, setting=setting) from None
