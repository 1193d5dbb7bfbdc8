"""The fedchain error hierarchy: every error a user can see says what went wrong and the fix."""

from __future__ import annotations


class FedchainError(Exception):
    """Base of every error fedchain raises on purpose.

    ``fix`` tells the user what to do about it; the CLI prints both, never a traceback.
    """

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message


class ConfigError(FedchainError):
    """A setting is missing, malformed or unsafe for the chain it points at."""


class ToolMissing(FedchainError):
    """An external program fedchain needs (anvil, solc) is not installed."""


class ChainError(FedchainError):
    """The JSON-RPC node failed, or a transaction reverted."""


class ValidationFailed(FedchainError):
    """Input did not validate; ``field`` names what was wrong."""

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.field = field


class NotFound(FedchainError):
    """A thing looked up by id or hash does not exist."""


class AlreadyExists(FedchainError):
    """A thing with the same identity is already stored."""


class IntegrityError(FedchainError):
    """Stored or received bytes do not match their hash or signature."""
