"""What every party of a round computes the same way: share indexes, coverage, the candidate.

Pure functions over blobs and keys (no chain, no network): miners use them to split the
decryption work and to build the candidate global model; hospitals use them to rebuild the
candidate themselves before reporting its hold-out metric; auditors to check it. Partials
come with the share index of the miner that published them on chain (``PublishedPartial``),
so a bad partial is blamed on its publisher, never on the share it claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.crypto import ThresholdPublicKey, combine
from node.crypto.codec import decode_aggregate
from node.crypto.errors import InvalidPartialDecryption
from node.crypto.messages import PartialDecryption
from node.crypto.rounds import verify_partial
from node.fedopt import GlobalModel, encode_global_model, server_step
from node.modelspec import ModelSpec


def share_index(pair_index: int) -> int:
    """The key share a miner holds: pair index k holds share k + 1 (the ceremony's order)."""
    return pair_index + 1


@dataclass(frozen=True)
class PublishedPartial:
    """A partial-decryption blob and the share index of the miner that posted it on chain."""

    submitter: int
    blob: bytes


def verify_published(
    public_key: ThresholdPublicKey, aggregate_blob: bytes, partial: PublishedPartial
) -> PartialDecryption:
    """The partial if its proof verifies for its publisher's share (InvalidPartialDecryption)."""
    return verify_partial(public_key, aggregate_blob, partial.blob, submitter=partial.submitter)


def missing_ciphertexts(
    public_key: ThresholdPublicKey,
    aggregate_blob: bytes,
    verified: Sequence[PartialDecryption],
) -> dict[int, set[int]]:
    """Ciphertexts still short of ``threshold`` partials: index -> share indexes covering it.

    Only verified partials count: a bogus partial must not stop honest miners from covering
    the ciphertexts it pretends to cover.
    """
    n = len(decode_aggregate(aggregate_blob, public_key).ciphertexts)
    cover: dict[int, set[int]] = {j: set() for j in range(n)}
    for partial in verified:
        for j in partial.indices:
            if j in cover:
                cover[j].add(partial.share_index)
    return {j: s for j, s in cover.items() if len(s) < public_key.threshold}


def verified_only(
    public_key: ThresholdPublicKey,
    aggregate_blob: bytes,
    published: Sequence[PublishedPartial],
) -> tuple[list[PartialDecryption], dict[int, str]]:
    """The published partials whose proofs verify, and the reasons the others were refused."""
    good, refused = [], {}
    for partial in published:
        try:
            good.append(verify_published(public_key, aggregate_blob, partial))
        except InvalidPartialDecryption as exc:
            refused[exc.share_index] = exc.message
    return good, refused


def candidate_model(
    public_key: ThresholdPublicKey,
    aggregate_blob: bytes,
    published: Sequence[PublishedPartial],
    previous: GlobalModel,
    spec: ModelSpec,
) -> tuple[GlobalModel, bytes, float]:
    """Combine the partials and apply the server step: (model, its blob, error bound).

    Raises NotEnoughShares when the valid partials do not cover every ciphertext, and
    PackingOutOfRange when the decrypted sum lies outside what its weights allow.
    """
    decrypted = combine(
        public_key,
        aggregate_blob,
        [p.blob for p in published],
        submitters=[p.submitter for p in published],
    )
    model = server_step(previous, decrypted.mean, spec)
    bound = decrypted.error_bound / decrypted.total_weight
    return model, encode_global_model(model), bound
