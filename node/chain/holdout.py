"""The ledger's hold-out rule in pure Python: tallies per candidate, the verdict, the factor q.

Mirrors ``FederatedLedger`` (``reportHoldout``, ``_judgeHoldout``, ``_qualityPpm``) with
the same integer arithmetic, so miners can tell beforehand what the contract will accept
and auditors recompute exactly what it minted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from node.chain.events import HoldoutReported

PPM = 1_000_000
#: q = 1 + QUALITY_GAIN x the mean gain: one accuracy point (10,000 ppm) adds 0.1.
QUALITY_GAIN = 10
#: Each report's gain is clipped to +-GAIN_CAP (10 points), where q saturates.
GAIN_CAP = 100_000


def _h(value: str | bytes) -> str:
    raw = value.hex() if isinstance(value, bytes) else value
    return raw.lower().removeprefix("0x")


def clipped_gain(metric_before: int, metric_after: int) -> int:
    """The gain after - before, clipped to +-GAIN_CAP (ppm)."""
    return max(-GAIN_CAP, min(GAIN_CAP, metric_after - metric_before))


def div_toward_zero(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Solidity's signed ``/`` does."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@dataclass(frozen=True)
class Tally:
    """The reports on one candidate: how many, how many found it worse, summed clipped gains."""

    reports: int = 0
    worse: int = 0
    gain_sum: int = 0


def tally_of(reports: Iterable[HoldoutReported], candidate: str | bytes) -> Tally:
    """The tally the contract keeps for ``candidate`` from the round's HoldoutReported events."""
    mine = [r for r in reports if _h(r.candidate_hash) == _h(candidate)]
    return Tally(
        reports=len(mine),
        worse=sum(1 for r in mine if r.worse),
        gain_sum=sum(clipped_gain(r.metric_before, r.metric_after) for r in mine),
    )


def quality_ppm(tally: Tally) -> int:
    """The factor q in ppm: 10^6 + QUALITY_GAIN x gain_sum / reports (toward zero).

    10^6 without reports. Always in [0, 2 x 10^6]: 10 x a mean of gains within +-10 points.
    """
    if tally.reports == 0:
        return PPM
    return PPM + div_toward_zero(QUALITY_GAIN * tally.gain_sum, tally.reports)


class Verdict(StrEnum):
    """What the contract's hold-out gate says about sealing a candidate now."""

    PASSED = "passed"  # sealRound(candidate) goes through
    PENDING = "pending"  # not enough reports yet and the window is open (HoldoutPending)
    NOT_REPORTED = "not_reported"  # outvoted by reports on another hash (CandidateNotReported)
    FAILED = "failed"  # a majority of its reports found it worse (HoldoutFailed)


def verdict(tally: Tally, *, total: int, policy: int, accepted: int, window_over: bool) -> Verdict:
    """The contract's gate for one candidate (``total``: reports on any candidate this round)."""
    if policy == 0:
        return Verdict.PASSED
    needed = min(policy, accepted)
    mine = 2 * tally.reports
    judged = (
        tally.reports >= needed
        or (total >= needed and mine > total)
        or (window_over and tally.reports > 0 and mine >= total)  # silence is not a pass
    )
    if not judged:
        return Verdict.PENDING if total < needed and not window_over else Verdict.NOT_REPORTED
    return Verdict.FAILED if 2 * tally.worse > tally.reports else Verdict.PASSED
