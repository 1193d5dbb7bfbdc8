"""The ledger's hold-out rule in Python: the same verdicts and the same integers as Solidity."""

from __future__ import annotations

import pytest

from node.chain.events import HoldoutReported
from node.chain.holdout import (
    Tally,
    Verdict,
    clipped_gain,
    div_toward_zero,
    quality_ppm,
    tally_of,
    verdict,
)

C, D = "0x" + "0b" * 32, "0x" + "0e" * 32


def _report(k: int, candidate: str, before: int, after: int, worse: bool) -> HoldoutReported:
    return HoldoutReported(
        event="HoldoutReported",
        block_number=k,
        tx_hash="0x00",
        log_index=0,
        round=1,
        hospital=f"0xH{k}",
        candidate_hash=candidate,
        metric_before=before,
        metric_after=after,
        worse=worse,
    )


def test_division_truncates_toward_zero_like_solidity():
    assert [div_toward_zero(a, 4) for a in (90, -90, 3, -3)] == [22, -22, 0, 0]
    assert div_toward_zero(-7, -2) == 3 and div_toward_zero(7, -2) == -3


def test_gains_are_clipped_to_ten_points_so_q_stays_in_zero_to_two():
    assert clipped_gain(0, 1_000_000) == 100_000 and clipped_gain(1_000_000, 0) == -100_000
    assert quality_ppm(Tally(reports=3, gain_sum=300_000)) == 2_000_000
    assert quality_ppm(Tally(reports=3, gain_sum=-300_000)) == 0
    assert quality_ppm(Tally()) == 1_000_000  # no reports: q = 1


def test_tally_counts_only_reports_on_its_candidate():
    reports = [
        _report(0, C, 500_000, 510_000, False),
        _report(1, C, 500_000, 400_000, True),
        _report(2, D, 0, 1_000_000, False),
    ]
    assert tally_of(reports, C) == Tally(reports=2, worse=1, gain_sum=10_000 - 100_000)
    assert tally_of(reports, bytes.fromhex(D[2:])) == Tally(reports=1, worse=0, gain_sum=100_000)


@pytest.mark.parametrize(
    ("tally", "total", "window_over", "expected"),
    [
        (Tally(reports=4), 4, False, Verdict.PASSED),  # every report, on this candidate
        (Tally(reports=2), 2, False, Verdict.PENDING),  # two of four reports so far
        (Tally(reports=2), 2, True, Verdict.PASSED),  # the window is over, nobody outvotes it
        (Tally(reports=3), 4, False, Verdict.PASSED),  # one liar on another hash: 3 of 4
        (Tally(reports=1), 4, False, Verdict.NOT_REPORTED),  # the liar's own hash
        (Tally(reports=1), 4, True, Verdict.NOT_REPORTED),  # ... even after the window
        (Tally(reports=2), 4, False, Verdict.NOT_REPORTED),  # a tie waits for the window
        (Tally(reports=2), 4, True, Verdict.PASSED),
        (Tally(reports=0), 0, False, Verdict.PENDING),  # nobody reported yet
        (Tally(reports=0), 0, True, Verdict.NOT_REPORTED),  # silence is not a pass
        (Tally(reports=4, worse=3), 4, False, Verdict.FAILED),
        (Tally(reports=4, worse=2), 4, False, Verdict.PASSED),  # half is no majority
    ],
)
def test_verdict_mirrors_the_contracts_gate(tally, total, window_over, expected):
    assert verdict(tally, total=total, policy=4, accepted=4, window_over=window_over) is expected


def test_without_a_policy_every_candidate_passes():
    assert (
        verdict(Tally(reports=4, worse=4), total=4, policy=0, accepted=4, window_over=False)
        is Verdict.PASSED
    )
