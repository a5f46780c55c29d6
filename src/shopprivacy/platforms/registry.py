"""Finding platform adapters by name through entry points, and validating their ``platform_options``."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import AdapterNotFound, ConfigurationError
from ..hints import closest, plain, printable

if TYPE_CHECKING:
    from ..settings import Settings

ENTRY_POINT_GROUP = "shopprivacy.adapters"
OPTIONS_SETTING = "SHOPPRIVACY_PLATFORM_OPTIONS"
#: The adapters published with the SDK, and the package that installs each.
KNOWN_ADAPTERS = {"shopify": "shopprivacy-shopify", "woocommerce": "shopprivacy-woocommerce"}
Options = TypeVar("Options", bound=BaseModel)


def available_adapters() -> list[str]:
    """Names of the installed adapters."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def load_adapter(name: str, settings: Settings) -> Any:
    """Build the adapter registered as ``name``; unknown names list what is installed."""
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        installed = available_adapters()
        near = closest(name, [*installed, *KNOWN_ADAPTERS])
        if near is not None and near != name:
            fix = f"did you mean {near!r}?"
            if near not in installed:
                fix += f" (install it with: pip install {KNOWN_ADAPTERS[near]})"
        else:
            fix = "set it to one of the installed names, or install the adapter's package (" + ", ".join(
                f"{pkg} for {plat}" for plat, pkg in KNOWN_ADAPTERS.items()) + ")"
        raise AdapterNotFound(
            f"SHOPPRIVACY_PLATFORM: no platform adapter named {name!r} is installed (installed: "
            f"{', '.join(installed) or 'none'}); {fix}",
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
    raises ConfigurationError naming every bad option, one line each (``setting`` is the first, as
    ``SHOPPRIVACY_PLATFORM_OPTIONS.<name>``), with "did you mean" for a misspelt name, never a value (options
    hold access tokens)."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        errors = exc.errors()
    known = list(model.model_fields)
    missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing" and e["loc"]]
    meant: dict[str, str] = {}  # misspelt name -> the missing option it was meant to be
    for err in errors:
        if err["type"] == "extra_forbidden" and err["loc"]:
            near = closest(str(err["loc"][0]), [m for m in missing if m not in meant.values()])
            if near is not None:
                meant[str(err["loc"][0])] = near
    lines: list[str] = []
    names: list[str] = []
    for err in errors:
        name = ".".join(str(p) for p in err["loc"])
        setting = f"{OPTIONS_SETTING}.{printable(name)}" if name else OPTIONS_SETTING
        if err["type"] == "missing":
            if name in meant.values():
                continue  # reported with the misspelt name that was meant to be it
            message = f"{setting} is required for the {platform} adapter"
        elif err["type"] == "extra_forbidden":
            near = meant.get(name) or closest(name, known)
            hint = f"; did you mean {near!r}?" if near else f" (its options: {', '.join(known)})"
            message = f"{setting} is not an option of the {platform} adapter{hint}"
        else:
            message = f"{setting}: {plain(str(err['msg']))}"
        names.append(setting)
        lines.append(message)
    raise ConfigurationError("\n".join(lines), setting=names[0] if names else OPTIONS_SETTING)
