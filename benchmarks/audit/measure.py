"""Time the auditor's verification of a built history, check kind by check kind.

The checks run in the order ``Auditor.report`` runs them, through the same functions, on one
``BlobReader`` (so a blob is fetched and re-hashed once, by the blob-hash checks, and the
later checks reuse the verified copy, as in the real audit).
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from benchmarks.audit.history import BuiltHistory
from node.audit.auditor import Auditor
from node.audit.blobsource import BlobReader, DirectorySource
from node.audit.history import History, reconstruct
from node.audit.models import CheckResult, CheckStatus
from node.audit.verify import (
    check_aggregate,
    check_balances,
    check_blob_hashes,
    check_holdout_reports,
    check_model_chain,
    check_rewards,
    check_sealed_model,
)

T = TypeVar("T")
KINDS = [
    "event read",
    "event fold",
    "blob hashes",
    "aggregate",
    "model re-derivation",
    "chain/holdout/rewards",
    "balances",
]


def _reader(built: BuiltHistory) -> BlobReader:
    return BlobReader([DirectorySource(d) for d in built.blob_dirs])


def auditor_for(built: BuiltHistory) -> Auditor:
    """The auditor as ``fedchain audit report`` builds it over blob directories."""
    return Auditor(
        ledger=built.ledger,
        reader=_reader(built),
        public_key_file=built.public_key_file,
        from_block=built.from_block,
    )


@dataclasses.dataclass
class AuditTiming:
    """Seconds per check kind (whole history) and per round; every check's status."""

    seconds: dict[str, float] = dataclasses.field(default_factory=lambda: defaultdict(float))
    per_round: dict[int, dict[str, float]] = dataclasses.field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    checks: list[CheckResult] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> float:
        """The whole audit's seconds."""
        return sum(self.seconds.values())

    @property
    def failed(self) -> int:
        """Checks that did not hold (0 for an honest history)."""
        return sum(c.status is CheckStatus.FAILED for c in self.checks)


def _timed(timing: AuditTiming, kind: str, fn: Callable[[], T], round_: int | None = None) -> T:
    start = time.perf_counter()
    out = fn()
    took = time.perf_counter() - start
    timing.seconds[kind] += took
    if round_ is not None:
        timing.per_round[round_][kind] += took
    return out


def time_audit(built: BuiltHistory) -> AuditTiming:
    """The full audit, timed by check kind (and per round where a check is per round)."""
    timing = AuditTiming()
    auditor = auditor_for(built)
    events = _timed(
        timing, "event read", lambda: auditor.ledger.events(from_block=auditor.from_block)
    )
    history = _timed(timing, "event fold", lambda: reconstruct(events))
    checks = timing.checks
    for r in history.rounds:  # blob hashes per round (a model named twice is checked once)
        one = dataclasses.replace(history, rounds=[r])
        checks += _timed(
            timing, "blob hashes", partial(check_blob_hashes, one, auditor.reader), r.round
        )
    key, why = _timed(timing, "aggregate", lambda: auditor.public_key(history))
    if key is None:
        raise RuntimeError(f"no consortium key: {why}")
    for r in history.rounds:
        checks.append(
            _timed(timing, "aggregate", partial(check_aggregate, r, auditor.reader, key), r.round)
        )
        checks.append(
            _timed(
                timing,
                "model re-derivation",
                partial(check_sealed_model, r, auditor.reader, key),
                r.round,
            )
        )
    checks += _timed(
        timing,
        "chain/holdout/rewards",
        lambda: (
            check_model_chain(history, auditor.reader)
            + check_holdout_reports(history)
            + check_rewards(history)
        ),
    )
    checks += _timed(timing, "balances", lambda: _balances(auditor, history))
    return timing


def _balances(auditor: Auditor, history: History) -> list[CheckResult]:
    return check_balances(history, auditor.onchain_balances(history), auditor.ledger.total_supply())


def time_report(built: BuiltHistory) -> tuple[float, bool]:
    """``Auditor.report()`` end to end on a fresh reader: (seconds, verified)."""
    start = time.perf_counter()
    report = auditor_for(built).report()
    return time.perf_counter() - start, report.verified


def time_hash_only(built: BuiltHistory) -> float:
    """The cheap audit: read the events and re-hash every blob the ledger names, nothing else."""
    start = time.perf_counter()
    auditor = auditor_for(built)
    check_blob_hashes(auditor.history(), auditor.reader)
    return time.perf_counter() - start
