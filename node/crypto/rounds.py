"""The calls a round makes: key ceremony, hospital encryption, miners' sum, partials, combine.

Bytes in, bytes out: every function takes and returns serialised blobs (see ``wire``), so
services can store them by ``blob_id`` and sign or record that id on chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from node.crypto.codec import (
    MIN_CONTRIBUTIONS,
    decode_aggregate,
    decode_partial,
    decode_update,
    encode_aggregate,
    encode_key_share,
    encode_partial,
    encode_public_key,
    encode_update,
    public_key_id,
)
from node.crypto.errors import InvalidPartialDecryption, MalformedBlob, NotEnoughShares
from node.crypto.keys import ThresholdPublicKey, deal_threshold_key
from node.crypto.messages import (
    Aggregate,
    Contribution,
    EncryptedUpdate,
    KeyShareRecord,
    PartialDecryption,
    blob_id,
)
from node.crypto.packing import (
    PPM,
    PackingSpec,
    cap_weights,
    check_slot_sums,
    check_weights,
    decode_weighted_sum,
    pack,
    quantise,
    unpack,
)
from node.crypto.paillier import ObfuscatorPool, encrypt_with, fresh_obfuscators, weighted_product
from node.crypto.threshold import (
    combine_partials,
    partial_decryptions,
    verify_partial_decryptions,
)


def new_consortium_key(
    *, miners: int, threshold: int, n_bits: int = 2048
) -> tuple[bytes, list[bytes]]:
    """Deal a t-of-m key: the public-key blob and one share blob per miner (index 1..m)."""
    public_key, shares = deal_threshold_key(n_bits=n_bits, miners=miners, threshold=threshold)
    key_id = public_key_id(public_key)
    share_blobs = [
        encode_key_share(KeyShareRecord(key_id, i, s, public_key.verification_key(i)))
        for i, s in shares
    ]
    shares.clear()
    return encode_public_key(public_key), share_blobs


def encrypt_update(
    public_key: ThresholdPublicKey,
    spec: PackingSpec,
    values: np.ndarray,
    *,
    weight: int,
    context: bytes = b"",
    pool: ObfuscatorPool | None = None,
    clip_out_of_range: bool = False,
    workers: int | None = None,
) -> bytes:
    """Hospital side: quantise, pack and encrypt an update vector; the miners apply ``weight``.

    ``pool`` supplies obfuscators computed ahead of time (it must be for this key);
    without one they are computed now, which is almost all of the cost.
    """
    levels = quantise(values, spec, clip_out_of_range=clip_out_of_range)
    if not 1 <= weight <= spec.max_total_weight:
        raise MalformedBlob(
            f"weight {weight} outside 1..{spec.max_total_weight}",
            field="weight",
            fix="use a PackingSpec whose max_total_weight covers this weight",
        )
    plaintexts = pack(levels, spec, public_key.n_bits)
    if pool is not None and pool.n != public_key.n:
        raise MalformedBlob("the obfuscator pool belongs to another key", field="pool")
    obfuscators = (
        pool.take(len(plaintexts), workers=workers)
        if pool is not None
        else fresh_obfuscators(public_key.n, len(plaintexts), workers=workers)
    )
    update = EncryptedUpdate(
        public_key_id=public_key_id(public_key),
        spec=spec,
        n_values=len(levels),
        weight=weight,
        context=context,
        ciphertexts=tuple(encrypt_with(public_key.n, plaintexts, obfuscators)),
    )
    return encode_update(update, public_key)


def read_update(blob: bytes, public_key: ThresholdPublicKey) -> EncryptedUpdate:
    """Miner side: parse and validate an update blob (raises MalformedBlob naming the field)."""
    return decode_update(blob, public_key)


def aggregate_updates(
    public_key: ThresholdPublicKey,
    update_blobs: Sequence[bytes],
    *,
    max_share_ppm: int = PPM,
    workers: int | None = None,
) -> bytes:
    """Miner side: validate updates and sum them homomorphically, each raised to its weight.

    Updates are taken in order of blob id, so every miner that sums the same set of
    updates produces byte-identical aggregates with the same id (recompute and attest).
    Each weight is capped at ``max_share_ppm`` of the total (``cap_weights``: the ledger's
    rule). An aggregate needs two updates at least: decrypting the "sum" of one update
    would reveal it.
    """
    update_blobs = sorted(update_blobs, key=blob_id)
    updates = [decode_update(b, public_key) for b in update_blobs]
    if len(updates) < MIN_CONTRIBUTIONS:
        raise MalformedBlob(
            f"{len(updates)} update(s) to aggregate; an aggregate needs {MIN_CONTRIBUTIONS} "
            "(decrypting one update alone would reveal it)",
            field="updates",
        )
    first = updates[0]
    for k, u in enumerate(updates):
        if u.spec != first.spec or u.n_values != first.n_values:
            raise MalformedBlob(
                f"updates[{k}] has another packing spec or length than updates[0]",
                field=f"updates[{k}]",
                fix="aggregate only updates of one round, made with the round's PackingSpec",
            )
    ids = [blob_id(b) for b in update_blobs]
    if len(set(ids)) != len(ids):
        raise MalformedBlob("the same update appears twice", field="updates")
    weights = cap_weights([u.weight for u in updates], max_share_ppm)
    check_weights(weights, first.spec)
    ciphertexts = weighted_product(
        public_key.n, [u.ciphertexts for u in updates], weights, workers=workers
    )
    aggregate = Aggregate(
        public_key_id=public_key_id(public_key),
        spec=first.spec,
        n_values=first.n_values,
        contributions=tuple(Contribution(i, w) for i, w in zip(ids, weights, strict=True)),
        ciphertexts=tuple(ciphertexts),
    )
    return encode_aggregate(aggregate, public_key)


def read_aggregate(blob: bytes, public_key: ThresholdPublicKey) -> Aggregate:
    """Parse and validate an aggregate blob."""
    return decode_aggregate(blob, public_key)


def assign_ciphertexts(
    n_ciphertexts: int, share_indices: Sequence[int], threshold: int
) -> dict[int, tuple[int, ...]]:
    """Spread decryption work: each ciphertext goes to ``threshold`` of the listed miners."""
    miners = sorted(set(share_indices))
    if len(miners) < threshold:
        raise NotEnoughShares(f"{len(miners)} miners listed; decryption needs {threshold}")
    plan: dict[int, list[int]] = {i: [] for i in miners}
    for j in range(n_ciphertexts):
        for k in range(threshold):
            plan[miners[(j + k) % len(miners)]].append(j)
    return {i: tuple(js) for i, js in plan.items()}


def partial_decrypt(
    public_key: ThresholdPublicKey,
    share: KeyShareRecord,
    aggregate_blob: bytes,
    *,
    indices: Sequence[int] | None = None,
    workers: int | None = None,
) -> bytes:
    """Miner side: partial decryptions of the aggregate's ciphertexts (all, or ``indices``)."""
    aggregate = decode_aggregate(aggregate_blob, public_key)
    if share.public_key_id != public_key_id(public_key):
        raise MalformedBlob("the share belongs to another public key", field="share")
    chosen = (
        tuple(sorted(set(indices)))
        if indices is not None
        else tuple(range(len(aggregate.ciphertexts)))
    )
    if not chosen or not 0 <= chosen[0] <= chosen[-1] < len(aggregate.ciphertexts):
        raise MalformedBlob(
            "indices must name some of the aggregate's ciphertexts", field="indices"
        )
    agg_id = blob_id(aggregate_blob)
    partials, proof = partial_decryptions(
        public_key,
        share.index,
        share.secret,
        [aggregate.ciphertexts[j] for j in chosen],
        context=_proof_context(agg_id, chosen),
        workers=workers,
    )
    partial = PartialDecryption(
        public_key_id(public_key), agg_id, share.index, chosen, tuple(partials), proof
    )
    return encode_partial(partial, public_key)


def verify_partial(
    public_key: ThresholdPublicKey,
    aggregate_blob: bytes,
    partial_blob: bytes,
    *,
    submitter: int | None = None,
) -> PartialDecryption:
    """Check a miner's partial decryption; raise InvalidPartialDecryption naming its share.

    ``submitter``: the share index of the miner that published it (from the chain); a blob
    that claims another share is refused and blamed on the submitter, so no miner can
    frame another by posting a bad partial in its name.
    """
    aggregate = decode_aggregate(aggregate_blob, public_key)
    return _verified(public_key, aggregate, blob_id(aggregate_blob), partial_blob, submitter)


@dataclass(frozen=True)
class DecryptedAggregate:
    """The decrypted Σ_k w_k Δ_k, its total weight, the error bound and rejected partials."""

    weighted_sum: np.ndarray
    total_weight: int
    error_bound: float  # |weighted_sum - exact| per value, from rounding alone
    rejected: dict[int, str] = field(default_factory=dict)  # share index -> reason

    @property
    def mean(self) -> np.ndarray:
        """Σ_k w_k Δ_k / Σ_k w_k, within spec.scale / 2 of the exact weighted mean."""
        return self.weighted_sum / self.total_weight


def combine(
    public_key: ThresholdPublicKey,
    aggregate_blob: bytes,
    partial_blobs: Sequence[bytes],
    *,
    submitters: Sequence[int] | None = None,
) -> DecryptedAggregate:
    """Verify partials, combine ``threshold`` valid ones per ciphertext, unpack the total.

    Invalid partials are left out and reported in ``rejected`` by share index (with
    ``submitters``, the share index of the miner that published each blob, by that miner's
    index whatever the blob claims); if any ciphertext is left with fewer than
    ``threshold`` valid partials, NotEnoughShares. A total whose slots lie outside what the
    aggregate's weights allow (an update encrypted out-of-range values) raises
    PackingOutOfRange instead of being decoded.
    """
    aggregate = decode_aggregate(aggregate_blob, public_key)
    agg_id = blob_id(aggregate_blob)
    rejected: dict[int, str] = {}
    per_ciphertext: list[dict[int, int]] = [{} for _ in aggregate.ciphertexts]
    if submitters is not None and len(submitters) != len(partial_blobs):
        raise ValueError("one submitter per partial blob")
    for k, blob in enumerate(partial_blobs):
        submitter = submitters[k] if submitters is not None else None
        try:
            partial = _verified(public_key, aggregate, agg_id, blob, submitter)
        except InvalidPartialDecryption as exc:
            rejected[exc.share_index] = exc.message
            continue
        if any(partial.share_index in per_ciphertext[j] for j in partial.indices):
            rejected[partial.share_index] = "a second partial from the same share"
            continue
        for j, c in zip(partial.indices, partial.partials, strict=True):
            per_ciphertext[j][partial.share_index] = c
    short = [j for j, got in enumerate(per_ciphertext) if len(got) < public_key.threshold]
    if short:
        raise NotEnoughShares(
            f"{len(short)} of {len(per_ciphertext)} ciphertexts (first: {short[0]}) have fewer "
            f"than {public_key.threshold} valid partial decryptions"
            + (f"; rejected shares: {sorted(rejected)}" if rejected else ""),
            fix=f"collect valid partials from at least {public_key.threshold} miners "
            "covering every ciphertext",
        )
    plaintexts = [
        combine_partials(public_key, dict(sorted(got.items())[: public_key.threshold]))
        for got in per_ciphertext
    ]
    spec, total = aggregate.spec, aggregate.total_weight
    sums = unpack(plaintexts, spec, public_key.n_bits, aggregate.n_values)
    check_slot_sums(sums, spec, total)
    return DecryptedAggregate(
        weighted_sum=decode_weighted_sum(sums, spec, total),
        total_weight=total,
        error_bound=spec.sum_error_bound(total),
        rejected=rejected,
    )


def _proof_context(aggregate_id: bytes, indices: Sequence[int]) -> bytes:
    return aggregate_id + b"".join(j.to_bytes(4, "big") for j in indices)


def _verified(
    public_key: ThresholdPublicKey,
    aggregate: Aggregate,
    aggregate_id: bytes,
    blob: bytes,
    submitter: int | None = None,
) -> PartialDecryption:
    blamed = submitter if submitter is not None else _claimed(blob)
    try:
        partial = decode_partial(blob, public_key)
    except MalformedBlob as exc:
        raise InvalidPartialDecryption(f"malformed: {exc.message}", share_index=blamed) from exc
    i = partial.share_index
    if submitter is not None and i != submitter:
        raise InvalidPartialDecryption(
            f"share {submitter} published a partial that claims share {i}",
            share_index=submitter,
            fix=f"discard it; the miner holding share {submitter} published it",
        )
    if partial.aggregate_id != aggregate_id:
        raise InvalidPartialDecryption(f"share {i}: made for another aggregate", share_index=i)
    if partial.indices[-1] >= len(aggregate.ciphertexts):
        raise InvalidPartialDecryption(f"share {i}: ciphertext index out of range", share_index=i)
    ciphertexts = [aggregate.ciphertexts[j] for j in partial.indices]
    if not verify_partial_decryptions(
        public_key,
        i,
        ciphertexts,
        partial.partials,
        partial.proof,
        context=_proof_context(aggregate_id, partial.indices),
    ):
        raise InvalidPartialDecryption(
            f"share {i}: the proof of correct partial decryption does not verify",
            share_index=i,
            fix=f"discard share {i}'s partials and ask another miner; report miner {i}",
        )
    return partial


def _claimed(blob: bytes) -> int:
    """The share index a malformed partial claims (0 when even that is unreadable)."""
    offset = 14 + 64  # header, public-key id, aggregate id
    return int.from_bytes(blob[offset : offset + 2], "big") if len(blob) >= offset + 2 else 0
