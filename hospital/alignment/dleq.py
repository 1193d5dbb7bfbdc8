"""Batched Chaum-Pedersen (DLEQ) proofs on ristretto255: a batch was raised to the committed key.

A party commits to its run key k as K = k·B (B the ristretto255 base point) when it accepts
a session. For every batch it raises, inputs P_1..P_m to outputs Q_j = k·P_j, it proves
log_B K = log_M Z for the random linear combinations M = Σ c_j·P_j and Z = Σ c_j·Q_j,
with 128-bit coefficients c_j derived by Fiat-Shamir from the statement, K and both whole
batches (so they are fixed only once the outputs are). If some Q_j ≠ k·P_j, the
combination hides the error only for one value of c_j in 2^128, and the prover cannot
choose its outputs after seeing the coefficients. The proof is a Schnorr-style
(challenge, response) pair of scalars, 64 bytes, and anyone holding the two batches can
check it again (it is transferable evidence naming the prover).

libsodium has no multi-scalar multiplication, so M costs one scalar multiplication and one
point addition per point (the prover then gets Z = k·M for one more); the verifier pays
that twice (M and Z). Pure functions; chunks run on a thread pool (libsodium through ctypes
releases the GIL).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import rbcl

from hospital.alignment.group import POINT_BYTES

COEFFICIENT_BYTES = 16  # 128-bit coefficients: soundness 2^-128, and cheaper multiplications
SCALAR_BYTES = 32
PROOF_BYTES = 2 * SCALAR_BYTES
_SEED_DOMAIN = b"fedchain/psi/v1/dleq-coefficients\x00"
_CHALLENGE_DOMAIN = b"fedchain/psi/v1/dleq-challenge\x00"
_CHUNK = 2048
# The ristretto255 identity's encoding; a combination equal to it proves nothing.
_IDENTITY = bytes(POINT_BYTES)


@dataclass(frozen=True)
class DleqProof:
    """A batched DLEQ proof: the Fiat-Shamir challenge e and the response s = r - e·k."""

    challenge: bytes
    response: bytes

    def to_bytes(self) -> bytes:
        """The 64-byte wire form: challenge then response."""
        return self.challenge + self.response

    @classmethod
    def from_bytes(cls, data: bytes) -> DleqProof:
        """Parse the 64-byte wire form (no check that the scalars are reduced)."""
        if len(data) != PROOF_BYTES:
            raise ValueError(f"a DLEQ proof is {PROOF_BYTES} bytes, got {len(data)}")
        return cls(data[:SCALAR_BYTES], data[SCALAR_BYTES:])


def key_commitment(key: bytes) -> bytes:
    """K = k·B: the public commitment to a run key."""
    return bytes(rbcl.crypto_scalarmult_ristretto255_base(key))


def _framed(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def coefficient_seed(statement: bytes, commitment: bytes, inputs: bytes, outputs: bytes) -> bytes:
    """The Fiat-Shamir seed: statement (session, prover, batch), K and both batches."""
    return hashlib.sha512(
        _SEED_DOMAIN
        + _framed(
            statement,
            commitment,
            hashlib.sha512(inputs).digest(),
            hashlib.sha512(outputs).digest(),
        )
    ).digest()


def coefficients(seed: bytes, count: int) -> list[bytes]:
    """``count`` 128-bit coefficients as 32-byte little-endian scalars (all < the group order)."""
    stream = hashlib.shake_256(seed).digest(COEFFICIENT_BYTES * count)
    pad = bytes(SCALAR_BYTES - COEFFICIENT_BYTES)
    return [
        stream[i : i + COEFFICIENT_BYTES] + pad
        for i in range(0, COEFFICIENT_BYTES * count, COEFFICIENT_BYTES)
    ]


def _combine_chunk(blob: bytes, coeffs: list[bytes]) -> bytes:
    mult = rbcl.crypto_scalarmult_ristretto255_allow_scalar_zero
    add = rbcl.crypto_core_ristretto255_add
    total = _IDENTITY
    for n, c in enumerate(coeffs):
        total = add(total, mult(c, blob[n * POINT_BYTES : (n + 1) * POINT_BYTES]))
    return bytes(total)


def combine(blob: bytes, coeffs: list[bytes], *, workers: int = 2) -> bytes:
    """Σ c_j·P_j over the points of ``blob`` (one scalar multiplication and addition each)."""
    step = _CHUNK * POINT_BYTES
    parts = [
        (blob[i : i + step], coeffs[i // POINT_BYTES : i // POINT_BYTES + _CHUNK])
        for i in range(0, len(blob), step)
    ]
    if workers > 1 and len(parts) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dleq") as ex:
            sums = list(ex.map(lambda p: _combine_chunk(*p), parts))
    else:
        sums = [_combine_chunk(*p) for p in parts]
    total = _IDENTITY
    for s in sums:
        total = bytes(rbcl.crypto_core_ristretto255_add(total, s))
    return total


def _challenge(seed: bytes, *points: bytes) -> bytes:
    digest = hashlib.sha512(_CHALLENGE_DOMAIN + seed + b"".join(points)).digest()
    return bytes(rbcl.crypto_core_ristretto255_scalar_reduce(digest))


def _canonical_scalar(s: bytes) -> bool:
    if len(s) != SCALAR_BYTES:
        return False
    return bytes(rbcl.crypto_core_ristretto255_scalar_reduce(s + bytes(SCALAR_BYTES))) == s


def prove(
    key: bytes, inputs: bytes, outputs: bytes, *, statement: bytes, workers: int = 2
) -> DleqProof:
    """Prove that ``outputs`` are ``inputs`` raised to ``key`` (point by point, same order).

    Costs one scalar multiplication and one addition per point (for M); Z = k·M.
    """
    if not inputs:
        raise ValueError("an empty batch has nothing to prove")
    commitment = key_commitment(key)
    seed = coefficient_seed(statement, commitment, inputs, outputs)
    m = combine(inputs, coefficients(seed, len(inputs) // POINT_BYTES), workers=workers)
    z = bytes(rbcl.crypto_scalarmult_ristretto255(key, m))
    nonce = bytes(rbcl.crypto_core_ristretto255_scalar_random())
    a1 = bytes(rbcl.crypto_scalarmult_ristretto255_base(nonce))
    a2 = bytes(rbcl.crypto_scalarmult_ristretto255(nonce, m))
    e = _challenge(seed, commitment, m, z, a1, a2)
    s = bytes(
        rbcl.crypto_core_ristretto255_scalar_sub(
            nonce, rbcl.crypto_core_ristretto255_scalar_mul(e, key)
        )
    )
    return DleqProof(e, s)


def verify(
    commitment: bytes,
    inputs: bytes,
    outputs: bytes,
    proof: DleqProof,
    *,
    statement: bytes,
    workers: int = 2,
) -> bool:
    """True when ``proof`` shows ``outputs`` = ``inputs`` raised to the key behind ``commitment``.

    Costs two scalar multiplications and two additions per point (M and Z). Malformed
    scalars or points make it False, never an exception.
    """
    if len(inputs) != len(outputs) or not inputs or len(inputs) % POINT_BYTES:
        return False
    if not _canonical_scalar(proof.response) or not _canonical_scalar(proof.challenge):
        return False  # s and s + L would both verify: only the reduced form is accepted
    seed = coefficient_seed(statement, commitment, inputs, outputs)
    coeffs = coefficients(seed, len(inputs) // POINT_BYTES)
    both: list[Callable[[], bytes]] = [
        lambda: combine(inputs, coeffs, workers=1),
        lambda: combine(outputs, coeffs, workers=1),
    ]
    try:
        if workers > 1:  # M and Z at once, one per core
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="dleq") as ex:
                m, z = ex.map(lambda f: f(), both)
        else:
            m, z = (f() for f in both)
        if m == _IDENTITY:
            return False
        mult = rbcl.crypto_scalarmult_ristretto255_allow_scalar_zero
        base = rbcl.crypto_scalarmult_ristretto255_base_allow_scalar_zero
        add = rbcl.crypto_core_ristretto255_add
        a1 = bytes(add(base(proof.response), mult(proof.challenge, commitment)))
        a2 = bytes(add(mult(proof.response, m), mult(proof.challenge, z)))
    except (RuntimeError, ValueError, TypeError):  # rbcl refuses non-canonical input
        return False
    return _challenge(seed, commitment, m, z, a1, a2) == proof.challenge


def batch_statement(*, session_id: str, prover: str, origin: str, hops: int) -> bytes:
    """What a blind hop's proof is about: this session, this prover, this owner's batch, hop."""
    return _framed(session_id.encode(), prover.encode(), origin.encode(), hops.to_bytes(2, "big"))
