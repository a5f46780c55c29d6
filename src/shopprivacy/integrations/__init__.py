"""Framework integrations. Each imports its framework on use and only translates objects: the privacy
logic lives in the core and in ``shopprivacy.web``."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

from ..errors import DidNotEnable as DidNotEnable


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def require_version(framework: str, minimum: tuple[int, int], extra: str) -> None:
    """Raise :class:`DidNotEnable` unless ``framework`` (a distribution name) is installed at ``minimum`` or newer,
    naming the installed and the required version and the extra that installs a supported one."""
    installed = installed_version(framework)
    needed = ".".join(map(str, minimum))
    fix = f"pip install 'shopprivacy[{extra}]'"
    if installed is None:
        raise DidNotEnable(f"the {framework} integration needs {framework} {needed} or newer, which is not "
                           f"installed: {fix}")
    match = re.match(r"(\d+)\.(\d+)", installed)
    if match is None or (int(match[1]), int(match[2])) < minimum:
        raise DidNotEnable(f"the {framework} integration needs {framework} {needed} or newer, but {installed} is "
                           f"installed: {fix}")


__all__ = ["DidNotEnable", "installed_version", "require_version"]
