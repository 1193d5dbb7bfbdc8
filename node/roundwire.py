"""Wire messages of a round between a hospital and its miner, and between miners."""

from __future__ import annotations

import base64
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

HEX32 = r"^[0-9a-f]{64}$"
#: The ledger stores round ids and sample counts as uint64: larger ones cannot be recorded.
UINT64_MAX = 2**64 - 1


def _check_base64(value: str) -> str:
    """Refuse a blob that is not strict base64 (a field error, not a failure later)."""
    try:
        base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ValueError(f"blob_b64 is not base64: {exc}") from exc
    return value


class UpdateSubmission(BaseModel):
    """A hospital's signed, encrypted update for one round, sent to its paired miner."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    round: int = Field(ge=1, le=UINT64_MAX, description="round id (uint64 on chain)")
    blob_hash: str = Field(pattern=HEX32, description="sha256 of the blob, hex")
    sample_count: int = Field(ge=1, le=UINT64_MAX, description="n_k, the weight the miners apply")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="EIP-712 update signature")
    blob_b64: str = Field(description="the encrypted update blob, base64")

    _blob_is_base64 = field_validator("blob_b64")(_check_base64)

    def blob(self) -> bytes:
        """The blob bytes."""
        return base64.b64decode(self.blob_b64, validate=True)


class ReceiptStatus(StrEnum):
    """What the miner did with a submission."""

    PROPOSED = "proposed"
    REFUSED = "refused"


class UpdateReceipt(BaseModel):
    """The miner's answer: proposed on chain (with its update id) or refused (with the code)."""

    model_config = ConfigDict(frozen=True)

    status: ReceiptStatus
    round: int
    blob_hash: str
    update_id: int | None = None
    tx_hash: str | None = None
    reason: str | None = None
    detail: str | None = None


class BlobUpload(BaseModel):
    """A blob replicated to a peer (or published by any member): bytes named by their hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    blob_hash: str = Field(pattern=HEX32)
    blob_b64: str

    _blob_is_base64 = field_validator("blob_b64")(_check_base64)

    def blob(self) -> bytes:
        """The blob bytes."""
        return base64.b64decode(self.blob_b64, validate=True)


class BlobStored(BaseModel):
    """Acknowledgement of a stored blob."""

    blob_hash: str
    size: int


class MinerStatus(BaseModel):
    """Health and progress of a miner (for operators and tests)."""

    miner: str
    hospital: str
    cursor: int
    current_round: int
    phase: str | None
    blobs: int


def b64(blob: bytes) -> str:
    """Base64 text of a blob."""
    return base64.b64encode(blob).decode()
