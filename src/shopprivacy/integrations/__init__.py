"""Framework integrations. Each imports its framework on use and only translates objects: the privacy
logic lives in the core and in ``shopprivacy.web``."""

from ..errors import ConfigurationError


class DidNotEnable(ConfigurationError):
    """The framework an integration needs is not installed (install the matching extra)."""
