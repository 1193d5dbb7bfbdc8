"""Threshold Paillier keys (Damgård–Jurik, s = 1): the consortium public key and the dealer.

The dealer follows Damgård–Jurik / Shoup: n = pq with safe primes p = 2p' + 1, q = 2q' + 1,
m' = p'q'; the decryption exponent d satisfies d ≡ 0 (mod m'), d ≡ 1 (mod n) and is shared
with a random polynomial of degree t - 1 over Z_{n m'}. Verification keys v_i = v^(Δ s_i)
let anyone check a miner's partial decryption. g = n + 1, so the public key is phe's.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

import gmpy2
from phe import PaillierPublicKey

from node.crypto.primes import random_safe_prime

MIN_KEY_BITS = 512  # below this the 128-bit batch-proof soundness argument no longer holds
MAX_MINERS = 64  # Δ = m! grows with m; 64 miners already means a 296-bit Δ


@dataclass(frozen=True)
class ThresholdPublicKey:
    """The consortium key: modulus n, t of m, and the miners' verification keys."""

    n: int
    threshold: int
    miners: int
    v: int
    verification_keys: tuple[int, ...]  # v_i for share index i = 1..miners

    @property
    def nsquare(self) -> int:
        """n², the ciphertext modulus."""
        return self.n * self.n

    @property
    def n_bits(self) -> int:
        """Bit length of n (2048 for a production key)."""
        return self.n.bit_length()

    @property
    def delta(self) -> int:
        """Δ = miners!, which clears the denominators of the Lagrange coefficients."""
        return math.factorial(self.miners)

    def verification_key(self, share_index: int) -> int:
        """v_i of the share with 1-based index ``share_index``."""
        return self.verification_keys[share_index - 1]

    def phe(self) -> PaillierPublicKey:
        """The same key as a phe public key (g = n + 1) for ordinary phe encryption."""
        return PaillierPublicKey(self.n)


def deal_threshold_key(
    *, n_bits: int = 2048, miners: int, threshold: int
) -> tuple[ThresholdPublicKey, list[tuple[int, int]]]:
    """Generate a t-of-m threshold Paillier key; return the public key and (index, s_i) pairs.

    The factorisation p, q, p', q', m' and d exist only inside this call: they are never
    returned, and their names are deleted before it returns. CPython cannot zero the memory
    of an int, so run the dealer in a short-lived process (the CLI does) to bound their life.
    """
    _check_parameters(n_bits=n_bits, miners=miners, threshold=threshold)
    p, p_half = random_safe_prime(n_bits // 2)
    q, q_half = random_safe_prime(n_bits // 2)
    while q == p:
        q, q_half = random_safe_prime(n_bits // 2)
    n = gmpy2.mpz(p) * q
    m_prime = gmpy2.mpz(p_half) * q_half
    n_m = n * m_prime
    d = m_prime * gmpy2.invert(m_prime, n)  # ≡ 0 mod m', ≡ 1 mod n
    coefficients = [d] + [gmpy2.mpz(secrets.randbelow(int(n_m))) for _ in range(threshold - 1)]
    shares = [(i, int(_evaluate(coefficients, i, n_m))) for i in range(1, miners + 1)]
    nsquare = n * n
    v = _random_unit(int(n)) ** 2 % nsquare  # a random square generates QR_{n²} w.h.p.
    delta = math.factorial(miners)
    verification_keys = tuple(int(gmpy2.powmod(v, delta * s, nsquare)) for _, s in shares)
    public_key = ThresholdPublicKey(
        n=int(n), threshold=threshold, miners=miners, v=int(v), verification_keys=verification_keys
    )
    del p, q, p_half, q_half, m_prime, n_m, d, coefficients
    return public_key, shares


def _check_parameters(*, n_bits: int, miners: int, threshold: int) -> None:
    if n_bits < MIN_KEY_BITS or n_bits % 2:
        raise ValueError(f"n_bits must be even and >= {MIN_KEY_BITS}, got {n_bits}")
    if not 1 <= miners <= MAX_MINERS:
        raise ValueError(f"miners must be 1..{MAX_MINERS}, got {miners}")
    if not 1 <= threshold <= miners:
        raise ValueError(f"threshold must be 1..miners ({miners}), got {threshold}")


def _evaluate(coefficients: list[gmpy2.mpz], x: int, modulus: gmpy2.mpz) -> gmpy2.mpz:
    result = gmpy2.mpz(0)
    for c in reversed(coefficients):
        result = (result * x + c) % modulus
    return result


def _random_unit(n: int) -> gmpy2.mpz:
    while True:
        r = gmpy2.mpz(secrets.randbelow(n * n))
        if r > 1 and gmpy2.gcd(r, n) == 1:
            return r
