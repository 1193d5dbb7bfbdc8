"""The decrypt phase with each miner in its own process: partial decryptions of one aggregate.

Every miner computes the partials the round's plan assigns it (``assign_ciphertexts``: each
ciphertext to t miners). Three timings of the same work: all miners one after another in
this process (what the summed view counts), every miner in its own process at once (on
this machine's 2 shared cores), and one miner alone in its own process (what a miner on its
own machine would spend: the critical path when no miner waits for a core).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event

from node.crypto import decode_key_share, decode_public_key
from node.crypto.codec import decode_aggregate
from node.crypto.rounds import assign_ciphertexts, partial_decrypt


@dataclass
class DecryptTiming:
    """Seconds of the three ways to run the same partial decryptions."""

    sequential: float  # every miner in turn, in one process
    processes_wall: float  # every miner in its own process, started together
    alone: float  # the busiest miner by itself in its own process
    ciphertexts: int
    per_miner: int  # ciphertexts the busiest miner decrypts


def _plan(pub_blob: bytes, share_blobs: list[bytes], aggregate: bytes) -> dict[int, list[int]]:
    pub = decode_public_key(pub_blob)
    n = len(decode_aggregate(aggregate, pub).ciphertexts)
    indices = [decode_key_share(s, pub).index for s in share_blobs]
    return {i: list(js) for i, js in assign_ciphertexts(n, indices, pub.threshold).items()}


def _partial(pub_blob: bytes, share_blob: bytes, aggregate: bytes, indices: list[int]) -> None:
    pub = decode_public_key(pub_blob)
    partial_decrypt(pub, decode_key_share(share_blob, pub), aggregate, indices=indices)


def _miner(
    pub_blob: bytes,
    share_blob: bytes,
    aggregate: bytes,
    indices: list[int],
    ready: mp.Queue,
    go: Event,
    done: mp.Queue,
) -> None:  # type: ignore[type-arg]
    ready.put(True)
    go.wait()
    _partial(pub_blob, share_blob, aggregate, indices)
    done.put(time.monotonic())  # CLOCK_MONOTONIC is system-wide: comparable across processes


def _in_processes(pub_blob: bytes, jobs: list[tuple[bytes, list[int]]], aggregate: bytes) -> float:
    ctx = mp.get_context("spawn")
    ready, done, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_miner, args=(pub_blob, share, aggregate, idx, ready, go, done))
        for share, idx in jobs
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:  # every process is up and has its inputs before the clock starts
            ready.get(timeout=120)
        start = time.monotonic()
        go.set()
        ends = [done.get(timeout=3600) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
    return max(ends) - start


def time_decrypt(pub_blob: bytes, share_blobs: list[bytes], aggregate: bytes) -> DecryptTiming:
    """Time the round's partial decryptions three ways (see the module docstring)."""
    pub = decode_public_key(pub_blob)
    plan = _plan(pub_blob, share_blobs, aggregate)
    jobs = [(s, plan[decode_key_share(s, pub).index]) for s in share_blobs]
    start = time.perf_counter()
    for share, indices in jobs:
        _partial(pub_blob, share, aggregate, indices)
    sequential = time.perf_counter() - start
    wall = _in_processes(pub_blob, jobs, aggregate)
    busiest = max(jobs, key=lambda j: len(j[1]))
    alone = _in_processes(pub_blob, [busiest], aggregate)
    n = len(decode_aggregate(aggregate, pub).ciphertexts)
    return DecryptTiming(sequential, wall, alone, n, len(busiest[1]))
