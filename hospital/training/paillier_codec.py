"""The aggregation seam over real threshold Paillier: what a round does, in one process.

encode (hospital): clip, quantise, pack and encrypt Δ_k with the consortium public key,
declaring its sample count n_k as the weight; combine (a miner): the homomorphic sum
Σ n_k·Δ_k of the packed ciphertexts; decode (the miners): t partial decryptions,
checked and combined, unpacked to Σ n_k·Δ_k / Σ n_k. Training code does not change: this
codec is swapped in where PlaintextCodec or QuantisedCodec were. The services run the same
node/crypto calls across processes; this class is for benchmarks and tests that want the
real arithmetic (and its cost) without standing up a network.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from hospital.training.local import LocalUpdate
from node.crypto import (
    PackingSpec,
    aggregate_updates,
    assign_ciphertexts,
    combine,
    decode_key_share,
    decode_public_key,
    encrypt_update,
    partial_decrypt,
    read_aggregate,
)
from node.errors import ValidationFailed


@dataclass
class CryptoCost:
    """Seconds and bytes spent by the encrypted path so far (for benchmark tables)."""

    encrypt_s: float = 0.0
    sum_s: float = 0.0
    decrypt_s: float = 0.0
    update_bytes: int = 0
    updates: int = 0
    rounds: int = 0
    max_error_bound: float = 0.0  # of the mean update, per value
    per_round: list[float] = field(default_factory=list)


class PaillierCodec:
    """UpdateCodec whose payloads are encrypted update blobs (bytes)."""

    def __init__(
        self,
        public_key_blob: bytes,
        share_blobs: Sequence[bytes],
        spec: PackingSpec,
        *,
        workers: int | None = None,
    ) -> None:
        self.public_key = decode_public_key(public_key_blob)
        self.shares = [decode_key_share(b, self.public_key) for b in share_blobs]
        if len(self.shares) < self.public_key.threshold:
            raise ValidationFailed(
                f"{len(self.shares)} key shares given; decryption needs "
                f"{self.public_key.threshold}",
                field="share_blobs",
                fix="pass at least t of the miners' key shares",
            )
        self.spec = spec
        self.workers = workers
        self.cost = CryptoCost()

    def encode(self, update: LocalUpdate) -> bytes:
        """The hospital's encrypted update; its weight is n_k (applied by the miners)."""
        started = time.perf_counter()
        blob = encrypt_update(
            self.public_key,
            self.spec,
            update.delta.detach().to(torch.float64).numpy(),
            weight=update.n_samples,
            clip_out_of_range=True,
            workers=self.workers,
        )
        self.cost.encrypt_s += time.perf_counter() - started
        self.cost.update_bytes += len(blob)
        self.cost.updates += 1
        return blob

    def combine(self, payloads: Sequence[bytes]) -> bytes:
        """The aggregate blob: Π c_k^{n_k} per packed ciphertext."""
        started = time.perf_counter()
        total = aggregate_updates(self.public_key, payloads, workers=self.workers)
        self.cost.sum_s += time.perf_counter() - started
        return total

    def decode(self, total: bytes, total_samples: int) -> Tensor:
        """Threshold-decrypt the aggregate with the shares, spreading ciphertexts over them."""
        started = time.perf_counter()
        indices = [s.index for s in self.shares]
        n_ciphertexts = len(read_aggregate(total, self.public_key).ciphertexts)
        plan = assign_ciphertexts(n_ciphertexts, indices, self.public_key.threshold)
        partials = [
            partial_decrypt(self.public_key, s, total, indices=plan[s.index], workers=self.workers)
            for s in self.shares
            if plan[s.index]
        ]
        result = combine(self.public_key, total, partials)
        elapsed = time.perf_counter() - started
        self.cost.decrypt_s += elapsed
        self.cost.rounds += 1
        self.cost.per_round.append(elapsed)
        self.cost.max_error_bound = max(
            self.cost.max_error_bound, result.error_bound / max(result.total_weight, 1)
        )
        if result.total_weight != total_samples:
            raise ValidationFailed(
                f"the aggregate carries weight {result.total_weight}, the round claims "
                f"{total_samples} samples",
                field="total_samples",
                fix="sum exactly the accepted updates of this round",
            )
        mean = np.asarray(result.mean, dtype=np.float64)
        return torch.from_numpy(mean).to(torch.float32)
