"""Threshold decryption (Damgård–Jurik, s = 1): partial decryptions, their proofs, combination.

A miner with share s_i turns each ciphertext c into c_i = c^(2Δ s_i) mod n². One batched
zero-knowledge proof covers all of a miner's partials: with 128-bit coefficients ρ_j taken
from a hash of everything (Fiat–Shamir), u = Π c_j^(4ρ_j) and u_i = Π c_ij^(2ρ_j), and the
miner proves log_u(u_i) = log_v(v_i) (equality of discrete logs, sha256 challenge). If any
single c_ij is wrong, u_i ≠ u^(Δ s_i) except with probability about 2^-128, because the
group of squares mod n² has order n·p'q' with no prime factor below 2^128. Squaring c_ij
removes the sign ambiguity ±c_ij that the proof cannot see and that combination ignores.

Combining t valid partials: c' = Π c_i^(2 λ_i) = c^(4Δ² d) = 1 + (4Δ² m mod n)·n mod n², where
λ_i = Δ Π_{i'≠i} i' / (i' - i) are integer Lagrange coefficients at 0.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import gmpy2

from node.crypto.keys import ThresholdPublicKey
from node.crypto.paillier import powmod_many

CHALLENGE_BITS = 256  # sha256 challenge
RHO_BITS = 128  # batch coefficients: soundness error about 2^-128
ZK_SLACK_BITS = 128  # statistical zero knowledge of the response z


@dataclass(frozen=True)
class EqualityProof:
    """Non-interactive proof that log_u(u_i) = log_v(v_i): challenge e and response z."""

    challenge: int
    response: int


def partial_decryptions(
    public_key: ThresholdPublicKey,
    share_index: int,
    share_secret: int,
    ciphertexts: Sequence[int],
    *,
    context: bytes,
    workers: int | None = None,
) -> tuple[list[int], EqualityProof]:
    """c^(2Δ s_i) mod n² for every ciphertext, with one batched proof bound to ``context``."""
    nsquare = public_key.nsquare
    secret_exponent = public_key.delta * share_secret
    partials = [
        int(x) for x in powmod_many(ciphertexts, 2 * secret_exponent, nsquare, workers=workers)
    ]
    rhos = _rhos(public_key, share_index, ciphertexts, partials, context)
    u = gmpy2.powmod(_multi_powmod(ciphertexts, rhos, nsquare), 4, nsquare)
    u_i = gmpy2.powmod(u, secret_exponent, nsquare)
    r = gmpy2.mpz(secrets.randbits(_nonce_bits(public_key)))
    a, b = gmpy2.powmod(u, r, nsquare), gmpy2.powmod(public_key.v, r, nsquare)
    v_i = public_key.verification_key(share_index)
    e = _challenge(public_key, (u, u_i, public_key.v, v_i, a, b), context)
    return partials, EqualityProof(challenge=e, response=int(r + e * secret_exponent))


def _nonce_bits(public_key: ThresholdPublicKey) -> int:
    """Bits of the proof's nonce r: it hides e · Δ s_i (s_i < n²) with ZK_SLACK_BITS to spare."""
    return 2 * public_key.n_bits + public_key.delta.bit_length() + CHALLENGE_BITS + ZK_SLACK_BITS


def max_response_bits(public_key: ThresholdPublicKey) -> int:
    """The most bits an honest response z = r + e · Δ s_i can have (r dominates, one carry)."""
    return _nonce_bits(public_key) + 1


def verify_partial_decryptions(
    public_key: ThresholdPublicKey,
    share_index: int,
    ciphertexts: Sequence[int],
    partials: Sequence[int],
    proof: EqualityProof,
    *,
    context: bytes,
) -> bool:
    """True when the batched proof shows every partial is c^(2Δ s_i) for this share."""
    if not 1 <= share_index <= public_key.miners or len(partials) != len(ciphertexts):
        return False
    if not 0 <= proof.challenge < (1 << CHALLENGE_BITS) or proof.response < 0:
        return False
    if proof.response.bit_length() > max_response_bits(public_key):
        return False
    nsquare = public_key.nsquare
    rhos = _rhos(public_key, share_index, ciphertexts, partials, context)
    u = gmpy2.powmod(_multi_powmod(ciphertexts, rhos, nsquare), 4, nsquare)
    u_i = gmpy2.powmod(_multi_powmod(partials, rhos, nsquare), 2, nsquare)
    v_i = public_key.verification_key(share_index)
    e, z = proof.challenge, proof.response
    a = gmpy2.powmod(u, z, nsquare) * gmpy2.powmod(u_i, -e, nsquare) % nsquare
    b = gmpy2.powmod(public_key.v, z, nsquare) * gmpy2.powmod(v_i, -e, nsquare) % nsquare
    return _challenge(public_key, (u, u_i, public_key.v, v_i, a, b), context) == e


def combine_partials(public_key: ThresholdPublicKey, partials_by_share: dict[int, int]) -> int:
    """The plaintext of one ciphertext from exactly ``threshold`` verified partials."""
    indices = tuple(sorted(partials_by_share))
    if len(indices) != public_key.threshold:
        raise ValueError(f"need exactly {public_key.threshold} partials, got {len(indices)}")
    n, nsquare = public_key.n, public_key.nsquare
    lambdas = lagrange_at_zero(indices, public_key.delta)
    combined = gmpy2.mpz(1)
    for i, lam in zip(indices, lambdas, strict=True):
        combined = combined * gmpy2.powmod(partials_by_share[i], 2 * lam, nsquare) % nsquare
    scaled = (combined - 1) // n  # L(c') = 4Δ² m mod n
    return int(scaled * gmpy2.invert(4 * public_key.delta**2, n) % n)


@cache
def lagrange_at_zero(indices: tuple[int, ...], delta: int) -> tuple[int, ...]:
    """Δ · Π_{i'≠i} i' / (i' - i) for each i in ``indices``: integers because Δ = m!."""
    out = []
    for i in indices:
        num, den = delta, 1
        for j in indices:
            if j != i:
                num *= j
                den *= j - i
        if num % den:
            raise ValueError("Δ does not clear the Lagrange denominator")
        out.append(num // den)
    return tuple(out)


def _rhos(
    public_key: ThresholdPublicKey,
    share_index: int,
    ciphertexts: Sequence[int],
    partials: Sequence[int],
    context: bytes,
) -> list[int]:
    width = (public_key.nsquare.bit_length() + 7) // 8
    h = hashlib.sha256(b"fedchain/threshold/rho/v1")
    h.update(public_key.n.to_bytes(width, "big"))
    h.update(share_index.to_bytes(2, "big") + len(context).to_bytes(4, "big") + context)
    h.update(len(ciphertexts).to_bytes(4, "big"))
    for c in ciphertexts:
        h.update(int(c).to_bytes(width, "big"))
    for p in partials:
        h.update(int(p).to_bytes(width, "big"))
    stream = hashlib.shake_256(h.digest()).digest(RHO_BITS // 8 * len(ciphertexts))
    step = RHO_BITS // 8
    return [int.from_bytes(stream[k : k + step], "big") for k in range(0, len(stream), step)]


def _challenge(public_key: ThresholdPublicKey, elements: Sequence[int], context: bytes) -> int:
    width = (public_key.nsquare.bit_length() + 7) // 8
    h = hashlib.sha256(b"fedchain/threshold/dleq/v1")
    h.update(public_key.n.to_bytes(width, "big"))
    h.update(len(context).to_bytes(4, "big") + context)
    for x in elements:
        h.update(int(x).to_bytes(width, "big"))
    return int.from_bytes(h.digest(), "big")


def _multi_powmod(bases: Sequence[int], exponents: Sequence[int], modulus: int) -> gmpy2.mpz:
    """Π bases[j]^exponents[j] mod modulus by the bucket method (Pippenger), 8-bit windows."""
    window, mask = 8, 255
    top = max((e.bit_length() for e in exponents), default=0)
    mpz_bases = [gmpy2.mpz(b) for b in bases]
    result = gmpy2.mpz(1)
    for shift in range((top - 1) // window * window, -1, -window):
        for _ in range(window):
            result = result * result % modulus
        buckets: dict[int, gmpy2.mpz] = {}
        for b, e in zip(mpz_bases, exponents, strict=True):
            digit = (e >> shift) & mask
            if digit:
                buckets[digit] = buckets[digit] * b % modulus if digit in buckets else b
        running, acc = gmpy2.mpz(1), gmpy2.mpz(1)
        for digit in range(mask, 0, -1):
            if digit in buckets:
                running = running * buckets[digit] % modulus
            acc = acc * running % modulus
        result = result * acc % modulus
    return result
