"""Ristretto255 arithmetic for ECDH PSI (libsodium through rbcl): hash-to-group, keys, batches.

Every point on the wire is a 32-byte canonical ristretto255 encoding; a batch is their plain
concatenation. Batches are processed in chunks on a thread pool: rbcl calls libsodium through
ctypes, which releases the GIL, so threads use both cores without pickling (measured faster
than a process pool, see benchmarks/psi); a process pool stays available for comparison.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Literal

import rbcl

from hospital.alignment.errors import AlignmentRefused

POINT_BYTES = 32
_H2G_DOMAIN = b"fedchain/psi/v1/hash-to-group\x00"
_CHUNK = 2048
# libsodium's is_valid_point accepts the identity (its unique encoding is all zeros);
# raised to any key it stays the identity, so it is refused separately.
IDENTITY = bytes(POINT_BYTES)

PoolKind = Literal["thread", "process"]


def new_key() -> bytes:
    """A fresh secret exponent: a uniformly random non-zero scalar mod the group order."""
    return bytes(rbcl.crypto_core_ristretto255_scalar_random())


def _framed(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def hash_input(item: bytes, *, context: bytes) -> bytes:
    """The 64-byte SHA-512 that is mapped to the group (domain- and session-separated)."""
    return hashlib.sha512(_H2G_DOMAIN + _framed(context, item)).digest()


def hash_to_group(item: bytes, *, context: bytes) -> bytes:
    """H(item): libsodium's crypto_core_ristretto255_from_hash over a separated SHA-512."""
    return bytes(rbcl.crypto_core_ristretto255_from_hash(hash_input(item, context=context)))


def _encode_chunk(items: Sequence[bytes], key: bytes, context: bytes) -> bytes:
    mult = rbcl.crypto_scalarmult_ristretto255
    h2g = rbcl.crypto_core_ristretto255_from_hash
    return b"".join(mult(key, h2g(hash_input(it, context=context))) for it in items)


def _raise_chunk(blob: bytes, key: bytes) -> bytes:
    mult = rbcl.crypto_scalarmult_ristretto255
    return b"".join(mult(key, blob[i : i + POINT_BYTES]) for i in range(0, len(blob), POINT_BYTES))


def _executor(kind: PoolKind, workers: int) -> Executor:
    if kind == "process":
        return ProcessPoolExecutor(max_workers=workers)
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="psi")


def _run_chunks(
    fn: Callable[..., bytes],
    chunks: list[object],
    args: tuple[object, ...],
    workers: int,
    pool: PoolKind,
) -> bytes:
    if workers <= 1 or len(chunks) <= 1:
        return b"".join(fn(c, *args) for c in chunks)
    with _executor(pool, workers) as ex:
        return b"".join(ex.map(fn, chunks, *([a] * len(chunks) for a in args)))


def encode_items(
    items: Sequence[bytes],
    key: bytes,
    *,
    context: bytes,
    workers: int = 2,
    pool: PoolKind = "thread",
) -> bytes:
    """H(item)^key for every item, in order, as one concatenated batch of points."""
    chunks: list[object] = [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
    return _run_chunks(_encode_chunk, chunks, (key, context), workers, pool)


def raise_points(blob: bytes, key: bytes, *, workers: int = 2, pool: PoolKind = "thread") -> bytes:
    """P^key for every point of a validated batch, order kept."""
    step = _CHUNK * POINT_BYTES
    chunks: list[object] = [blob[i : i + step] for i in range(0, len(blob), step)]
    return _run_chunks(_raise_chunk, chunks, (key,), workers, pool)


def _first_invalid(blob: bytes) -> int:
    valid = rbcl.crypto_core_ristretto255_is_valid_point
    for i in range(0, len(blob), POINT_BYTES):
        point = blob[i : i + POINT_BYTES]
        if point == IDENTITY or not valid(point):
            return i // POINT_BYTES
    return -1


def check_batch(
    blob: bytes, *, expected: int | None, field: str = "points", workers: int = 2
) -> int:
    """Refuse a batch that is not whole canonical points (or not ``expected`` of them).

    Every point must be a canonical ristretto255 encoding (libsodium's is_valid_point)
    and not the identity; returns the number of points.
    """
    if len(blob) % POINT_BYTES:
        raise AlignmentRefused(
            f"{field} is {len(blob)} bytes, not a whole number of {POINT_BYTES}-byte points",
            field=field,
            fix="send concatenated 32-byte ristretto255 encodings",
        )
    count = len(blob) // POINT_BYTES
    if expected is not None and count != expected:
        raise AlignmentRefused(
            f"{field} holds {count} points, expected {expected}",
            field=field,
            fix="send exactly one point per item of the announced set",
        )
    step = _CHUNK * POINT_BYTES
    chunks = [blob[i : i + step] for i in range(0, len(blob), step)]
    if workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="psi") as ex:
            bad = list(ex.map(_first_invalid, chunks))
    else:
        bad = [_first_invalid(c) for c in chunks]
    for n, b in enumerate(bad):
        if b >= 0:
            raise AlignmentRefused(
                f"{field}[{n * _CHUNK + b}] is not a canonical ristretto255 point",
                field=field,
                fix="send only points produced by the protocol",
            )
    return count


def split_points(blob: bytes) -> list[bytes]:
    """A batch as a list of 32-byte points."""
    return [blob[i : i + POINT_BYTES] for i in range(0, len(blob), POINT_BYTES)]


def count_other_holders(finals: Mapping[str, bytes]) -> dict[str, bytes]:
    """For each owner, one byte per point of its final batch: how many other owners hold it.

    ``finals`` maps each owner to its set raised to every key. A point repeated inside one
    owner's batch would inflate others' counts, so it is refused.
    """
    pool: Counter[bytes] = Counter()
    for owner, blob in finals.items():
        points = split_points(blob)
        if len(set(points)) != len(points):
            raise AlignmentRefused(
                f"the final batch of {owner} repeats a point",
                field="points",
                fix=f"{owner} must send each item once",
            )
        pool.update(points)
    return {owner: bytes(pool[p] - 1 for p in split_points(blob)) for owner, blob in finals.items()}
