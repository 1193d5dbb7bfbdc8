"""What one hospital learned in one alignment run (local only), and the run's hash context."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hospital.alignment.items import AlignmentPurpose
from hospital.alignment.messages import SessionOpen


class PartyResult(BaseModel):
    """What one hospital learned in one run: for each of its items, how many others hold it.

    Local only: it holds the hospital's items and the salt of its ledger commitment.
    """

    model_config = ConfigDict(frozen=True, ser_json_bytes="hex", val_json_bytes="hex")

    session_id: str
    run: str
    party: str
    purpose: AlignmentPurpose
    min_other_holders: int
    items: tuple[bytes, ...]
    other_holders: tuple[int, ...]
    salt: bytes
    shared_size: int
    shared_set_hash: bytes

    def holders_by_item(self) -> dict[bytes, int]:
        """Item -> number of other hospitals holding it."""
        return dict(zip(self.items, self.other_holders, strict=True))

    def ledger_args(self) -> tuple[str, bytes, int]:
        """The arguments of ``recordAlignment(run, sharedSetHash, sharedSize)``."""
        return self.run, self.shared_set_hash, self.shared_size

    def shared_items(self) -> list[bytes]:
        """The items held by at least ``min_other_holders`` other hospitals."""
        return [
            i
            for i, c in zip(self.items, self.other_holders, strict=True)
            if c >= self.min_other_holders
        ]


def context_of(msg: SessionOpen) -> bytes:
    """The hash-to-group context: purpose and session id (points never repeat across runs)."""
    return f"{msg.purpose.value}\x00{msg.session_id}".encode()
