"""Shared set-up for the alignment tests: hospitals in process, plaintext expectations."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

import pytest

from hospital.alignment import (
    AlignmentParty,
    AlignmentPurpose,
    LocalLink,
    RunSummary,
    WireLog,
    run_alignment,
)

Run = Callable[..., tuple[RunSummary, dict[str, AlignmentParty], WireLog]]
SECRET = b"consortium-test-secret"  # the hospitals' shared secret (canaries derive from it)


def plaintext_counts(sets: Mapping[str, list[bytes]]) -> dict[str, dict[bytes, int]]:
    """For each hospital and each of its items, how many other hospitals hold it."""
    as_sets = {k: set(v) for k, v in sets.items()}
    return {
        k: {x: sum(x in as_sets[o] for o in as_sets if o != k) for x in as_sets[k]} for k in sets
    }


def overlapping_sets(
    sizes: Mapping[str, int], shared: int, rng: random.Random
) -> dict[str, list[bytes]]:
    """Random 16-byte items; the first ``shared`` items are common to every hospital."""
    common = [rng.randbytes(16) for _ in range(shared)]
    return {k: common + [rng.randbytes(16) for _ in range(n - shared)] for k, n in sizes.items()}


@pytest.fixture
def run_local() -> Run:
    """Run a session among in-process hospitals over the wire codec; keep the transcript."""

    def run(
        sets: Mapping[str, list[bytes]],
        *,
        min_other_holders: int = 1,
        purpose: AlignmentPurpose = AlignmentPurpose.PATIENTS,
        workers: int = 2,
    ) -> tuple[RunSummary, dict[str, AlignmentParty], WireLog]:
        log = WireLog(keep=True)
        parties = {
            k: AlignmentParty(k, lambda _p, v=v: v, secret=SECRET, workers=workers)
            for k, v in sets.items()
        }
        summary = run_alignment(
            [LocalLink(p, log) for p in parties.values()],
            run="test-run",
            purpose=purpose,
            min_other_holders=min_other_holders,
            log=log,
        )
        return summary, parties, log

    return run


@pytest.fixture
def plain() -> Callable[[Mapping[str, list[bytes]]], dict[str, dict[bytes, int]]]:
    """The plaintext answer the protocol must reproduce."""
    return plaintext_counts


@pytest.fixture
def make_sets() -> Callable[..., dict[str, list[bytes]]]:
    """Random sets with a common part: make_sets(sizes, shared, seed)."""
    return lambda sizes, shared, seed=0: overlapping_sets(sizes, shared, random.Random(seed))
