"""Timed steps of one encrypted round, value by value with phe and packed with node.crypto."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from phe import EncodedNumber

from node.crypto import (
    KeyShareRecord,
    ObfuscatorPool,
    PackingSpec,
    ThresholdPublicKey,
    aggregate_updates,
    assign_ciphertexts,
    combine,
    encrypt_update,
    partial_decrypt,
    read_aggregate,
)
from node.crypto.paillier import encrypt_with, fresh_obfuscators
from node.crypto.threshold import (
    combine_partials,
    partial_decryptions,
    verify_partial_decryptions,
)

CIPHERTEXT_BYTES = 512  # one 2048-bit-key Paillier ciphertext, the compact lower bound


@dataclass
class Timing:
    """Wall and CPU seconds (CPU counts every thread of this process)."""

    wall: float = 0.0
    cpu: float = 0.0

    def __iadd__(self, other: Timing) -> Timing:
        self.wall += other.wall
        self.cpu += other.cpu
        return self

    def scaled(self, factor: float) -> Timing:
        return Timing(self.wall * factor, self.cpu * factor)


def timed(fn: Callable[[], Any]) -> tuple[Any, Timing]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, Timing(time.perf_counter() - w, time.process_time() - c)


@dataclass
class PerValue:
    """Value-by-value costs measured on a sample, per value (one hospital / one partial)."""

    sample: int
    encrypt: Timing
    encrypt_precomputed: Timing  # phe encoding + (1 + m·n)·r^n with r^n computed earlier
    add: Timing
    partial: Timing  # one miner's partial decryption of one value, proof included
    verify_combine: Timing  # checking one miner's proof and combining, per value and partial


def measure_value_by_value(
    public_key: ThresholdPublicKey, share: KeyShareRecord, sample: int, rng: np.random.Generator
) -> PerValue:
    """phe.encrypt per float, phe additions, and threshold decryption per ciphertext."""
    phe_key = public_key.phe()
    values = rng.uniform(-0.05, 0.05, sample)
    encrypted, enc = timed(lambda: [phe_key.encrypt(float(x)) for x in values])
    obfuscators = fresh_obfuscators(public_key.n, sample)

    def encrypt_precomputed() -> None:
        encoded = [EncodedNumber.encode(phe_key, float(x)) for x in values]
        encrypt_with(public_key.n, [e.encoding for e in encoded], obfuscators)

    _, enc_pre = timed(encrypt_precomputed)
    more = [phe_key.encrypt(float(x)) for x in rng.uniform(-0.05, 0.05, sample)]
    _, add = timed(lambda: [a + b for a, b in zip(encrypted, more, strict=True)])
    ciphertexts = [e.ciphertext(be_secure=False) for e in encrypted]
    (partials, proof), part = timed(
        lambda: partial_decryptions(
            public_key, share.index, share.secret, ciphertexts, context=b"bench", workers=1
        )
    )

    def check_and_combine() -> None:
        assert verify_partial_decryptions(
            public_key, share.index, ciphertexts, partials, proof, context=b"bench"
        )
        for p in partials:  # a 1-of-m combination costs the same exponentiations per partial
            combine_partials(_as_threshold_one(public_key), {share.index: p})

    _, check = timed(check_and_combine)
    return PerValue(
        sample,
        enc.scaled(1 / sample),
        enc_pre.scaled(1 / sample),
        add.scaled(1 / sample),
        part.scaled(1 / sample),
        check.scaled(1 / sample),
    )


def _as_threshold_one(public_key: ThresholdPublicKey) -> ThresholdPublicKey:
    return ThresholdPublicKey(
        public_key.n, 1, public_key.miners, public_key.v, public_key.verification_keys
    )


@dataclass
class PackedRound:
    """One packed round: per-phase timings, sizes, error."""

    ciphertexts: int
    precompute: Timing = field(default_factory=Timing)  # obfuscator pools (while training)
    encrypt_cold: Timing = field(default_factory=Timing)
    encrypt_pooled: Timing = field(default_factory=Timing)
    aggregate: Timing = field(default_factory=Timing)
    partials: Timing = field(default_factory=Timing)
    combine: Timing = field(default_factory=Timing)
    update_bytes: int = 0  # one hospital's blob
    partial_bytes: int = 0  # all miners' partial-decryption blobs
    aggregate_bytes: int = 0
    max_error: float = 0.0  # of the weighted mean, against the exact float mean
    error_bound: float = 0.0


def measure_packed(
    public_key: ThresholdPublicKey,
    shares: dict[int, KeyShareRecord],
    spec: PackingSpec,
    updates: list[np.ndarray],
    *,
    workers: int,
) -> PackedRound:
    """Encrypt each update cold and from a precomputed pool, sum, decrypt t-of-m, combine."""
    n = len(updates[0])
    out = PackedRound(ciphertexts=spec.ciphertext_count(n, public_key.n_bits))
    blobs = []
    for k, u in enumerate(updates):
        blob, t = timed(
            lambda u=u, k=k: encrypt_update(
                public_key, spec, u, weight=1, context=b"h%d" % k, workers=workers
            )
        )
        out.encrypt_cold += t
        pool = ObfuscatorPool(public_key.n)
        _, t = timed(lambda pool=pool: pool.fill(out.ciphertexts, workers=workers))
        out.precompute += t
        blob, t = timed(
            lambda u=u, k=k, pool=pool: encrypt_update(
                public_key, spec, u, weight=1, context=b"h%d" % k, pool=pool, workers=workers
            )
        )
        out.encrypt_pooled += t
        blobs.append(blob)
    out.update_bytes = len(blobs[0])
    aggregate, out.aggregate = timed(lambda: aggregate_updates(public_key, blobs, workers=workers))
    out.aggregate_bytes = len(aggregate)
    plan = assign_ciphertexts(
        len(read_aggregate(aggregate, public_key).ciphertexts), sorted(shares), public_key.threshold
    )
    partials = []
    for i, indices in plan.items():
        blob, t = timed(
            lambda i=i, indices=indices: partial_decrypt(
                public_key, shares[i], aggregate, indices=indices, workers=workers
            )
        )
        out.partials += t
        partials.append(blob)
    out.partial_bytes = sum(map(len, partials))
    result, out.combine = timed(lambda: combine(public_key, aggregate, partials))
    assert not result.rejected
    exact_mean = np.mean(updates, axis=0)
    out.max_error = float(np.max(np.abs(result.mean - exact_mean)))
    out.error_bound = result.error_bound / result.total_weight
    return out
