"""Encrypted customer fields: AEAD bound to its row, blind indexes, key rotation, crypto-shredding."""

from .blind_index import blind_index, normalise

__all__ = ["blind_index", "normalise"]
