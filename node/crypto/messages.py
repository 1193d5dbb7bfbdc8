"""The library's typed records: what the wire format carries, with big integers as ints."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import IntEnum

from node.crypto.packing import PackingSpec
from node.crypto.threshold import EqualityProof


class BlobKind(IntEnum):
    """The kind byte of a serialised blob."""

    PUBLIC_KEY = 1
    KEY_SHARE = 2
    ENCRYPTED_UPDATE = 3
    AGGREGATE = 4
    PARTIAL_DECRYPTION = 5


def blob_id(blob: bytes) -> bytes:
    """The content hash (sha256) that names a blob everywhere: store, chain, references."""
    return hashlib.sha256(blob).digest()


@dataclass(frozen=True)
class KeyShareRecord:
    """A miner's share as stored in its share file, bound to one public key."""

    public_key_id: bytes
    index: int
    secret: int = field(repr=False)
    verification_key: int


@dataclass(frozen=True)
class EncryptedUpdate:
    """One hospital's packed, encrypted update; the miners apply ``weight`` when summing.

    ``context`` is opaque to the library (e.g. round number and hospital id, as the caller
    encodes them); it is covered by the blob id, so a signature over the id covers it.
    """

    public_key_id: bytes
    spec: PackingSpec
    n_values: int
    weight: int
    context: bytes
    ciphertexts: tuple[int, ...]


@dataclass(frozen=True)
class Contribution:
    """One update inside an aggregate: its blob id and the weight it was summed with."""

    update_id: bytes
    weight: int


@dataclass(frozen=True)
class Aggregate:
    """Encryption of Σ_k w_k · levels_k, with the ids and weights of the updates summed."""

    public_key_id: bytes
    spec: PackingSpec
    n_values: int
    contributions: tuple[Contribution, ...]
    ciphertexts: tuple[int, ...]

    @property
    def total_weight(self) -> int:
        """Σ w_k, needed to remove the offsets when decoding."""
        return sum(c.weight for c in self.contributions)


@dataclass(frozen=True)
class PartialDecryption:
    """One miner's partial decryptions of some of an aggregate's ciphertexts, with its proof."""

    public_key_id: bytes
    aggregate_id: bytes
    share_index: int
    indices: tuple[int, ...]  # which of the aggregate's ciphertexts, ascending
    partials: tuple[int, ...]
    proof: EqualityProof
