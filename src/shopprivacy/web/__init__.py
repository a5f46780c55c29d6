"""Framework-neutral web handlers: plain :class:`Request` in, plain :class:`Response` out."""

from .http import Request, Response

__all__ = ["Request", "Response"]
