"""What every party of a round computes the same way: share indexes, coverage, the candidate.

Pure functions over blobs and keys (no chain, no network): miners use them to split the
decryption work and to build the candidate global model; hospitals use them to rebuild the
candidate themselves before reporting its hold-out metric.
"""

from __future__ import annotations

from collections.abc import Sequence

from node.crypto import ThresholdPublicKey, combine
from node.crypto.codec import decode_aggregate, decode_partial
from node.fedopt import GlobalModel, encode_global_model, server_step
from node.modelspec import ModelSpec


def share_index(pair_index: int) -> int:
    """The key share a miner holds: pair index k holds share k + 1 (the ceremony's order)."""
    return pair_index + 1


def missing_ciphertexts(
    public_key: ThresholdPublicKey, aggregate_blob: bytes, partial_blobs: Sequence[bytes]
) -> dict[int, set[int]]:
    """Ciphertexts still short of ``threshold`` partials: index -> share indexes covering it.

    Partials are only parsed here, not verified (``combine`` verifies them).
    """
    n = len(decode_aggregate(aggregate_blob, public_key).ciphertexts)
    cover: dict[int, set[int]] = {j: set() for j in range(n)}
    for blob in partial_blobs:
        partial = decode_partial(blob, public_key)
        for j in partial.indices:
            if j in cover:
                cover[j].add(partial.share_index)
    return {j: s for j, s in cover.items() if len(s) < public_key.threshold}


def candidate_model(
    public_key: ThresholdPublicKey,
    aggregate_blob: bytes,
    partial_blobs: Sequence[bytes],
    previous: GlobalModel,
    spec: ModelSpec,
) -> tuple[GlobalModel, bytes, float]:
    """Combine the partials and apply the server step: (model, its blob, error bound)."""
    decrypted = combine(public_key, aggregate_blob, partial_blobs)
    model = server_step(previous, decrypted.mean, spec)
    bound = decrypted.error_bound / decrypted.total_weight
    return model, encode_global_model(model), bound
