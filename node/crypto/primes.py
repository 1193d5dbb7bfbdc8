"""Safe primes p = 2p' + 1 for threshold Paillier, found by sieving p' and 2p' + 1 together."""

from __future__ import annotations

import secrets
from functools import cache

import gmpy2
import numpy as np

_SIEVE_BOUND = 1 << 16  # odd primes below this strike out candidates before any modexp
_WINDOW = 1 << 14  # candidates p' = base + 2i, i < _WINDOW, sieved per random base
_MILLER_RABIN_ROUNDS = 40  # gmpy2.is_prime runs BPSW plus these Miller–Rabin rounds


@cache
def _odd_small_primes() -> tuple[int, ...]:
    is_prime = np.ones(_SIEVE_BOUND, dtype=bool)
    is_prime[:2] = False
    for k in range(2, int(_SIEVE_BOUND**0.5) + 1):
        if is_prime[k]:
            is_prime[k * k :: k] = False
    return tuple(int(p) for p in np.flatnonzero(is_prime) if p > 2)


def _sieve(base: int) -> np.ndarray:
    """Offsets i for which neither p' = base + 2i nor 2p' + 1 has an odd factor below the bound."""
    alive = np.ones(_WINDOW, dtype=bool)
    for r in _odd_small_primes():
        half = (r + 1) // 2  # the inverse of 2 modulo r
        b = base % r
        alive[(-b * half) % r :: r] = False  # r divides p'
        alive[(((r - 1) // 2 - b) * half) % r :: r] = False  # r divides 2p' + 1
    return np.flatnonzero(alive)


def random_safe_prime(bits: int) -> tuple[int, int]:
    """Return ``(p, p')`` with p = 2p' + 1, both prime, p exactly ``bits`` bits, top two bits set.

    Two top bits set makes the product of two such primes exactly ``2 * bits`` bits long.
    """
    if bits < 64:
        raise ValueError(f"safe primes need at least 64 bits, got {bits}")
    while True:
        # p' has bits-1 bits with its two top bits set, and is odd.
        base = secrets.randbits(bits - 1) | (3 << (bits - 3)) | 1
        for i in _sieve(base):
            p_half = gmpy2.mpz(base + 2 * int(i))
            if p_half.bit_length() != bits - 1:
                break
            p = 2 * p_half + 1
            # Cheap Fermat tests first: almost every sieve survivor fails one of them.
            if gmpy2.powmod(2, p_half - 1, p_half) != 1 or gmpy2.powmod(2, p - 1, p) != 1:
                continue
            if gmpy2.is_prime(p_half, _MILLER_RABIN_ROUNDS) and gmpy2.is_prime(
                p, _MILLER_RABIN_ROUNDS
            ):
                return int(p), int(p_half)
