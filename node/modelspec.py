"""A round's model spec: what an update must look like, named on chain by its blob hash.

``openRound`` records ``modelSpecHash`` = sha256 of the spec's canonical JSON bytes, and the
same bytes are kept in the blob store, so every miner and hospital reads the identical
packing spec, parameter count, consortium key id and server optimiser from one hash.
"""

from __future__ import annotations

import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from node.crypto import PackingSpec
from node.errors import ValidationFailed


class ServerOptimiser(StrEnum):
    """The server-side update applied identically by everyone to the decrypted mean delta."""

    FEDAVG = "fedavg"
    FEDADAM = "fedadam"
    FEDYOGI = "fedyogi"


class ModelSpec(BaseModel):
    """Everything a round's updates and its global model are checked against."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_params: int = Field(gt=0, description="length of the flat float32 parameter vector")
    public_key_id: str = Field(pattern=r"^[0-9a-f]{64}$", description="consortium key id (hex)")
    value_bits: int = Field(default=16, ge=2, le=32)
    clip: float = Field(default=1.0, gt=0)
    max_updates: int = Field(default=16, ge=1)
    max_total_weight: int = Field(default=1 << 20, ge=1)
    optimiser: ServerOptimiser = ServerOptimiser.FEDAVG
    server_lr: float = Field(default=1.0, gt=0)
    beta1: float = Field(default=0.9, ge=0, lt=1)
    beta2: float = Field(default=0.99, ge=0, lt=1)
    tau: float = Field(default=1e-3, gt=0)

    def packing(self) -> PackingSpec:
        """The crypto library's packing spec for this round's updates."""
        return PackingSpec(
            value_bits=self.value_bits,
            clip=self.clip,
            max_updates=self.max_updates,
            max_total_weight=self.max_total_weight,
        )

    def canonical(self) -> bytes:
        """The bytes whose sha256 goes on chain: sorted keys, no spaces, UTF-8."""
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
        ).encode()


def decode_model_spec(blob: bytes) -> ModelSpec:
    """Parse a spec blob; it must be canonical so its hash names exactly one spec."""
    try:
        spec = ModelSpec.model_validate_json(blob)
    except ValidationError as exc:
        raise ValidationFailed(
            f"model spec blob does not validate: {exc.errors()[0]['msg']}",
            field="model_spec",
            fix="publish the spec with ModelSpec.canonical()",
        ) from exc
    if spec.canonical() != blob:
        raise ValidationFailed(
            "model spec blob is not in canonical form",
            field="model_spec",
            fix="publish the spec with ModelSpec.canonical()",
        )
    return spec
