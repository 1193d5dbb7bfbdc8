"""The aggregation seam: how (Δ_k, n_k) leave a hospital and come back as Σ n_k·Δ_k / Σ n_k.

An ``UpdateCodec`` has three steps, one per party in a round:

* ``encode``  (hospital): one local update → what it sends (clip, quantise, pack, encrypt);
* ``combine`` (miner):    the accepted payloads → their sum (homomorphic addition);
* ``decode``  (everyone): the (threshold-decrypted) sum and Σ n_k → the mean update Δ̄.

``aggregate`` runs the three in one process, which is what tests and the benchmark use.
Two codecs live here: ``PlaintextCodec`` (exact) and ``QuantisedCodec``, which performs the
encrypted path's clipping and fixed-point rounding on plain integers, so the accuracy
cost of quantisation can be measured without keys. A Paillier codec from ``node/crypto``
plugs in by implementing the same three methods over ciphertexts: encode = quantise as
here, then pack and encrypt the integers; combine = add ciphertexts; decode = decrypt,
unpack, then ``QuantisedCodec.dequantise``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import torch
from torch import Tensor

from hospital.training.local import LocalUpdate
from node.errors import ValidationFailed

Payload = TypeVar("Payload")


class UpdateCodec(Protocol[Payload]):
    """Turns updates into payloads that can be summed without reading any single one."""

    def encode(self, update: LocalUpdate) -> Payload:
        """What a hospital sends for its update: must carry n_k·Δ_k, not Δ_k."""
        ...

    def combine(self, payloads: Sequence[Payload]) -> Payload:
        """The sum of the payloads (a miner's job; never needs a plaintext)."""
        ...

    def decode(self, total: Payload, total_samples: int) -> Tensor:
        """Δ̄ = Σ n_k·Δ_k / Σ n_k as float32 from the summed payload."""
        ...


def _check_same_length(payloads: Sequence[Tensor]) -> None:
    if not payloads:
        raise ValidationFailed(
            "no updates to aggregate", field="updates", fix="wait for at least one accepted update"
        )
    if len({p.numel() for p in payloads}) != 1:
        raise ValidationFailed(
            "updates have different lengths",
            field="updates",
            fix="every hospital must train the same model spec",
        )


class PlaintextCodec:
    """Exact reference: payload = n_k·Δ_k in float64, the sum in float64."""

    def encode(self, update: LocalUpdate) -> Tensor:
        """n_k·Δ_k in float64."""
        return update.delta.to(torch.float64) * update.n_samples

    def combine(self, payloads: Sequence[Tensor]) -> Tensor:
        """Elementwise sum, added in the given order."""
        _check_same_length(payloads)
        total = torch.zeros_like(payloads[0])
        for p in payloads:
            total = total + p
        return total

    def decode(self, total: Tensor, total_samples: int) -> Tensor:
        """Divide by Σ n_k."""
        return (total / total_samples).to(torch.float32)


class QuantisedCodec:
    """The encrypted path's arithmetic without the encryption.

    Each Δ_k is clipped to [−clip, clip] and rounded to a signed ``bits``-bit fixed-point
    integer q = round(Δ·s) with s = (2^(bits−1) − 1)/clip; the payload is the integer n_k·q
    (what gets packed and encrypted); sums are exact integer sums. Decoding gives
    Σ n_k·q_k / (s·Σ n_k), which differs from the mean of the *clipped* updates by at most
    ``max_error`` = 1/(2s) per coordinate (a weighted mean of per-hospital rounding errors
    each ≤ 1/(2s)). Values beyond ``clip`` additionally lose what was clipped.
    """

    def __init__(self, clip: float, bits: int) -> None:
        if not clip > 0:
            raise ValidationFailed(
                f"clip must be > 0, got {clip}", field="clip", fix="use a bound on |Δ| such as 1.0"
            )
        if not 2 <= bits <= 48:
            raise ValidationFailed(
                f"bits must be in [2, 48], got {bits}",
                field="bits",
                fix="use 16 (packs densely) or 32 (near-exact)",
            )
        self.clip = clip
        self.bits = bits
        self.scale = (2 ** (bits - 1) - 1) / clip

    @property
    def max_error(self) -> float:
        """Largest per-coordinate error of ``decode`` against the mean of clipped updates."""
        return 0.5 / self.scale

    def quantise(self, delta: Tensor) -> Tensor:
        """Δ → signed fixed-point integers (int64) after clipping."""
        clipped = delta.to(torch.float64).clamp(-self.clip, self.clip)
        return torch.round(clipped * self.scale).to(torch.int64)

    def dequantise(self, total: Tensor, total_samples: int) -> Tensor:
        """Σ n_k·q_k (integers) → Δ̄ as float32."""
        return (total.to(torch.float64) / (self.scale * total_samples)).to(torch.float32)

    def encode(self, update: LocalUpdate) -> Tensor:
        """n_k·q_k as int64: the integers an encrypting codec would pack."""
        return self.quantise(update.delta) * update.n_samples

    def combine(self, payloads: Sequence[Tensor]) -> Tensor:
        """Exact integer sum."""
        _check_same_length(payloads)
        total = torch.zeros_like(payloads[0])
        for p in payloads:
            total = total + p
        return total

    def decode(self, total: Tensor, total_samples: int) -> Tensor:
        """Dequantise the integer sum into the mean update."""
        return self.dequantise(total, total_samples)


def aggregate(updates: Sequence[LocalUpdate], codec: UpdateCodec[Payload]) -> Tensor:
    """Δ̄ = Σ n_k·Δ_k / Σ n_k through ``codec``'s encode → combine → decode, in one process."""
    if not updates:
        raise ValidationFailed(
            "no updates to aggregate", field="updates", fix="wait for at least one accepted update"
        )
    total_samples = sum(u.n_samples for u in updates)
    return codec.decode(codec.combine([codec.encode(u) for u in updates]), total_samples)
