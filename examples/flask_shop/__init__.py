"""A small Flask shop built on shopprivacy: encrypted accounts, double opt-in newsletter, consent-gated tags,
a subscription renewed by a CLI job, and the privacy portal. ``create_app`` is the app factory."""

from .app import create_app

__all__ = ["create_app"]
