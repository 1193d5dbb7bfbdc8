"""Small threshold keys shared by the crypto unit tests (1024-bit n: 512-bit safe primes)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from node.crypto import (
    KeyShareRecord,
    ThresholdPublicKey,
    decode_key_share,
    decode_public_key,
    new_consortium_key,
)


@dataclass(frozen=True)
class Consortium:
    public_key_blob: bytes
    public_key: ThresholdPublicKey
    shares: dict[int, KeyShareRecord]


def make_consortium(*, miners: int, threshold: int, n_bits: int = 1024) -> Consortium:
    pk_blob, share_blobs = new_consortium_key(miners=miners, threshold=threshold, n_bits=n_bits)
    pk = decode_public_key(pk_blob)
    shares = {s.index: s for s in (decode_key_share(b, pk) for b in share_blobs)}
    return Consortium(pk_blob, pk, shares)


@pytest.fixture(scope="session")
def two_of_three() -> Consortium:
    return make_consortium(miners=3, threshold=2)


@pytest.fixture(scope="session")
def three_of_five() -> Consortium:
    return make_consortium(miners=5, threshold=3)


@pytest.fixture(scope="session")
def consortium_factory():
    """Deal a fresh consortium of any size (2048-bit keys for the one full-size test)."""
    return make_consortium
