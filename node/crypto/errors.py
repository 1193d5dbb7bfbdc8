"""Errors the crypto library raises, on top of the fedchain hierarchy in node.errors."""

from __future__ import annotations

from node.errors import FedchainError, IntegrityError, ValidationFailed


class MalformedBlob(ValidationFailed):
    """A serialised key, share, update, aggregate or partial decryption does not parse or check."""


class PackingOutOfRange(ValidationFailed):
    """A value lies outside the clip range, or a weight/count outside the PackingSpec bounds."""


class InvalidPartialDecryption(IntegrityError):
    """A miner's partial decryption failed its proof; ``share_index`` names the miner's share."""

    def __init__(self, message: str, *, share_index: int, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.share_index = share_index


class NotEnoughShares(FedchainError):
    """Fewer than ``threshold`` valid partial decryptions cover some ciphertext."""
