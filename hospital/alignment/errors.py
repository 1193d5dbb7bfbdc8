"""Errors of the alignment protocol: a refused message names the field that was wrong."""

from __future__ import annotations

from node.errors import ValidationFailed

#: What a relay refused by a hospital is told to do instead.
RELAY_FIX = (
    "relay with the ledger admin's account or an active miner's "
    "(FEDCHAIN_KEYSTORE or FEDCHAIN_DEVNET_ACCOUNT of `fedchain align run`)"
)


class AlignmentRefused(ValidationFailed):
    """A protocol message was refused (bad point, wrong length, unknown session, replay...).

    ``field`` names the message field at fault; ``fix`` says what the sender must do.
    """

    def __init__(self, message: str, *, field: str, fix: str | None = None) -> None:
        super().__init__(message, field=field, fix=fix)


class PartyAccused(AlignmentRefused):
    """The relay refused a session because one party deviated; ``party`` names it."""

    def __init__(self, message: str, *, party: str, field: str, fix: str | None = None) -> None:
        super().__init__(message, field=field, fix=fix)
        self.party = party
