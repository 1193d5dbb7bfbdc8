"""Paillier arithmetic on raw integers with gmpy2: obfuscators, encryption, products, checks.

Encryption is phe's raw_encrypt for g = n + 1: c = (1 + m·n) · r^n mod n². Nearly all of its
cost is the obfuscator r^n mod n², which does not depend on the plaintext, so a hospital can
compute a pool of them while it trains (``ObfuscatorPool``). gmpy2's ``powmod_base_list``
releases the GIL, so batches of modular exponentiations spread over threads.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import gmpy2

from node.crypto.errors import MalformedBlob

_CHUNK = 32  # exponentiations per task: small enough to balance two busy cores


def default_workers() -> int:
    """Threads for big batches of exponentiations: one per available core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def powmod_many(bases: Sequence[int], exponent: int, modulus: int, *, workers: int | None = None):
    """[b^exponent mod modulus for b in bases], computed on ``workers`` threads."""
    workers = workers or default_workers()
    chunks = [list(bases[i : i + _CHUNK]) for i in range(0, len(bases), _CHUNK)]
    exponent_mpz, modulus_mpz = gmpy2.mpz(exponent), gmpy2.mpz(modulus)
    if workers <= 1 or len(chunks) <= 1:
        return [x for c in chunks for x in gmpy2.powmod_base_list(c, exponent_mpz, modulus_mpz)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = pool.map(lambda c: gmpy2.powmod_base_list(c, exponent_mpz, modulus_mpz), chunks)
        return [x for part in parts for x in part]


def random_units(n: int, count: int) -> list[gmpy2.mpz]:
    """``count`` uniform random r in [1, n) with gcd(r, n) = 1."""
    out: list[gmpy2.mpz] = []
    while len(out) < count:
        r = gmpy2.mpz(secrets.randbelow(n))
        if r > 0 and gmpy2.gcd(r, n) == 1:
            out.append(r)
    return out


def fresh_obfuscators(n: int, count: int, *, workers: int | None = None) -> list[gmpy2.mpz]:
    """``count`` fresh obfuscators r^n mod n² (one per ciphertext, never reused)."""
    return powmod_many(random_units(n, count), n, n * n, workers=workers)


class ObfuscatorPool:
    """Obfuscators r^n mod n² computed ahead of time for one public key; each is used once.

    Reusing an obfuscator would reveal the difference of two plaintexts, so ``take`` removes
    what it hands out and computes any shortfall fresh.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._ready: list[gmpy2.mpz] = []

    def __len__(self) -> int:
        return len(self._ready)

    def fill(self, count: int, *, workers: int | None = None) -> None:
        """Precompute ``count`` more obfuscators (e.g. while the local model trains)."""
        self._ready.extend(fresh_obfuscators(self.n, count, workers=workers))

    def take(self, count: int, *, workers: int | None = None) -> list[gmpy2.mpz]:
        """Remove and return ``count`` obfuscators, computing fresh ones if the pool is short."""
        taken, self._ready = self._ready[:count], self._ready[count:]
        if len(taken) < count:
            taken.extend(fresh_obfuscators(self.n, count - len(taken), workers=workers))
        return taken


def encrypt_with(n: int, plaintexts: Sequence[int], obfuscators: Sequence[int]) -> list[int]:
    """Encrypt each 0 <= m < n as (1 + m·n) · obfuscator mod n² (phe's raw_encrypt)."""
    if len(plaintexts) != len(obfuscators):
        raise ValueError("one obfuscator per plaintext is required")
    nsquare = gmpy2.mpz(n) * n
    out = []
    for m, r in zip(plaintexts, obfuscators, strict=True):
        if not 0 <= m < n:
            raise ValueError("a Paillier plaintext must lie in [0, n)")
        out.append(int((1 + gmpy2.mpz(m) * n) * r % nsquare))
    return out


def check_ciphertexts(n: int, ciphertexts: Sequence[int], *, field: str) -> None:
    """Refuse anything that is not in Z*_{n²}: 0 < c < n² and gcd(c, n) = 1."""
    nsquare = n * n
    for i, c in enumerate(ciphertexts):
        if not 0 < c < nsquare or gmpy2.gcd(c, n) != 1:
            raise MalformedBlob(
                f"{field}[{i}] is not an element of Z*_(n^2) for this key",
                field=f"{field}[{i}]",
                fix="the blob is corrupt or was made for another key; ask the sender to resend",
            )


def weighted_product(
    n: int, columns: Sequence[Sequence[int]], weights: Sequence[int], *, workers: int | None = None
) -> list[int]:
    """Π_k columns[k][j]^weights[k] mod n² for each j: the encryption of Σ_k w_k m_kj."""
    nsquare = gmpy2.mpz(n) * n
    total = [gmpy2.mpz(1)] * len(columns[0])
    for column, weight in zip(columns, weights, strict=True):
        powered = column if weight == 1 else powmod_many(column, weight, nsquare, workers=workers)
        total = [a * b % nsquare for a, b in zip(total, powered, strict=True)]
    return [int(c) for c in total]
