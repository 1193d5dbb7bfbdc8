"""The ledger's hold-out gate: tallies per candidate, the sealed hash, rejection by any miner."""

from __future__ import annotations

import pytest

from node.chain.models import RoundStatus
from node.chain.tx import ContractReverted

AGG, CANDIDATE, OTHER = b"\x0a" * 32, b"\x0b" * 32, b"\x0e" * 32


def _world(make_world, reports: int = 4, margin: int = 1000):
    """Four pairs on a ledger deployed with this hold-out policy (fixed at deployment)."""
    return make_world(4, holdout=(reports, margin))


def _committed(world):
    world.open_round(1)
    world.accept_all(1)
    packer = world.packer_for(1)
    packer.commit_aggregate(1, AGG, 4)
    for m in [m for m in world.miners if m is not packer][:2]:
        m.attest_aggregate(1, AGG)
    return packer


def _other_miner(world, packer):
    return next(m for m in world.miners if m is not packer)


def _candidate_votes(world, packer, candidate=CANDIDATE):
    """Two miners besides the packer attest the candidate: with its seal, a quorum of 3."""
    for m in [m for m in world.miners if m is not packer][:2]:
        m.attest_candidate(1, candidate)


def _reverts(name: str, call) -> None:
    with pytest.raises(ContractReverted) as info:
        call()
    assert info.value.error_name == name


def test_seal_waits_for_reports_then_passes(make_world):
    world = _world(make_world)
    packer = _committed(world)
    _candidate_votes(world, packer)
    _reverts("HoldoutPending", lambda: packer.seal_round(1, CANDIDATE))
    for k, h in enumerate(world.hospitals):
        h.report_holdout(1, CANDIDATE, 700_000, 700_000 + k)
    packer.seal_round(1, CANDIDATE)
    assert world.admin.round(1).status == RoundStatus.SEALED


def test_worse_majority_blocks_the_seal_and_any_miner_rejects_without_the_packer(make_world):
    world = _world(make_world)
    packer = _committed(world)
    for k, h in enumerate(world.hospitals):
        h.report_holdout(1, CANDIDATE, 700_000, 650_000 if k < 3 else 701_000)
    tally = world.admin.holdout_tally(1, CANDIDATE)
    assert (tally.reports, tally.worse) == (4, 3)
    _candidate_votes(world, packer)
    _reverts("HoldoutFailed", lambda: packer.seal_round(1, CANDIDATE))
    other = _other_miner(world, packer)
    _reverts("NotProposer", lambda: other.reject_round(1, "no reason"))  # no failure named
    other.reject_failed_holdout(1, CANDIDATE)  # the tally on chain proves the failure
    (rejected,) = world.admin.events(names={"RoundRejected"})
    assert (rejected.by, rejected.reason) == (other.account.address, "HOLDOUT_WORSE")
    assert world.admin.total_supply() == 0


def test_a_round_that_did_not_fail_cannot_be_rejected_as_failed(make_world):
    world = _world(make_world)
    packer = _committed(world)
    for h in world.hospitals:
        h.report_holdout(1, CANDIDATE, 700_000, 710_000)
    other = _other_miner(world, packer)
    _reverts("HoldoutNotFailed", lambda: other.reject_failed_holdout(1, CANDIDATE))
    _reverts("NotMiner", lambda: world.outsider.reject_failed_holdout(1, CANDIDATE))


def test_within_margin_is_not_worse(make_world):
    world = _world(make_world, margin=1000)
    _committed(world)
    world.hospitals[0].report_holdout(1, CANDIDATE, 700_000, 699_500)
    assert world.admin.holdout_tally(1, CANDIDATE).worse == 0


def test_missing_reports_stop_blocking_after_the_timeout(make_world):
    world = _world(make_world)
    packer = _committed(world)
    _candidate_votes(world, packer)
    world.hospitals[0].report_holdout(1, CANDIDATE, 1, 2)
    world.advance(world.timeout)
    packer.seal_round(1, CANDIDATE)
    assert world.admin.round(1).status == RoundStatus.SEALED


def test_a_window_without_any_report_is_not_a_pass(make_world):
    world = _world(make_world)
    packer = _committed(world)
    _candidate_votes(world, packer)
    _reverts("HoldoutPending", lambda: packer.seal_round(1, CANDIDATE))
    world.advance(world.timeout)  # the window ends and nobody evaluated the candidate
    _reverts("CandidateNotReported", lambda: packer.seal_round(1, CANDIDATE))
    world.advance(world.timeout)  # so the rotation rejects the round instead
    world.packer_for(1).reject_round(1, "STALLED: no hold-out report")
    assert world.admin.round(1).status == RoundStatus.REJECTED


def test_only_the_candidate_the_hospitals_evaluated_can_be_sealed(make_world):
    world = _world(make_world)
    packer = _committed(world)
    for h in world.hospitals:
        h.report_holdout(1, CANDIDATE, 700_000, 710_000)
    _reverts("NoQuorum", lambda: packer.seal_round(1, OTHER))  # no miner derived OTHER
    _candidate_votes(world, packer, OTHER)  # miners agree on a hash nobody evaluated
    _reverts("CandidateNotReported", lambda: packer.seal_round(1, OTHER))
    world.advance(world.timeout)  # the window does not help a hash nobody reported on
    _reverts("CandidateNotReported", lambda: packer.seal_round(1, OTHER))
    _reverts("NoQuorum", lambda: packer.seal_round(1, CANDIDATE))  # and the miners did not
    assert world.admin.round(1).status == RoundStatus.COMMITTED


def test_the_sealed_hash_needs_both_the_miners_quorum_and_the_hospitals_reports(make_world):
    world = _world(make_world)
    packer = _committed(world)
    for h in world.hospitals:
        h.report_holdout(1, CANDIDATE, 700_000, 710_000)
    _candidate_votes(world, packer)
    packer.seal_round(1, CANDIDATE)
    (sealed,) = world.admin.events(names={"RoundSealed"})
    assert sealed.new_model_hash == "0x" + CANDIDATE.hex()


def test_one_lying_hospital_neither_blocks_the_honest_candidate_nor_rejects_the_round(make_world):
    world = _world(make_world)
    packer = _committed(world)  # the policy wants all four reports
    for h in world.hospitals[:3]:
        h.report_holdout(1, CANDIDATE, 700_000, 705_000)
    world.hospitals[3].report_holdout(1, OTHER, 700_000, 0)  # another hash, "much worse"
    _candidate_votes(world, packer)
    other = _other_miner(world, packer)
    _reverts("CandidateNotReported", lambda: other.reject_failed_holdout(1, OTHER))
    _reverts("NoQuorum", lambda: packer.seal_round(1, OTHER))
    packer.seal_round(1, CANDIDATE)  # 3 of 4 reports: a strict majority, no wait
    assert world.admin.round(1).status == RoundStatus.SEALED


def test_reports_only_from_hospitals_once_per_committed_round_with_ppm_metrics(make_world):
    world = _world(make_world, margin=0)
    world.open_round(1)
    _reverts("RoundNotCommitted", lambda: world.hospitals[0].report_holdout(1, CANDIDATE, 1, 1))
    world.accept_all(1)
    world.packer_for(1).commit_aggregate(1, AGG, 4)
    _reverts("NotMiner", lambda: world.outsider.reject_failed_holdout(1, CANDIDATE))
    _reverts("NotHospital", lambda: world.miners[0].report_holdout(1, CANDIDATE, 1, 1))
    _reverts("InvalidMetric", lambda: world.hospitals[0].report_holdout(1, CANDIDATE, 1, 10**6 + 1))
    _reverts("InvalidMetric", lambda: world.hospitals[0].report_holdout(1, CANDIDATE, -1, 1))
    world.hospitals[0].report_holdout(1, CANDIDATE, 1, 1)
    _reverts("AlreadyReported", lambda: world.hospitals[0].report_holdout(1, OTHER, 1, 1))


def test_a_stalled_committed_round_is_rejected_by_the_rotation(make_world):
    world = _world(make_world, reports=0)
    packer = _committed(world)  # the packer commits, then goes silent
    designated = world.packer_for(1)
    index = world.miners.index(designated)
    nxt = world.miners[(index + 1) % 4]
    _reverts("NotProposer", lambda: nxt.reject_round(1, "STALLED"))
    world.advance(2 * world.timeout)  # the packer's seal window and one more have passed
    _reverts("NotProposer", lambda: nxt.reject_round(1, "STALLED"))  # not its turn yet
    world.advance(world.timeout)
    nxt.reject_round(1, "STALLED")
    assert world.admin.round(1).status == RoundStatus.REJECTED
    assert packer is designated


def test_edge_refusals_are_recorded_by_miners_only(world):
    world.open_round(1)
    h = world.hospitals[0].account.address
    world.miners[0].refuse_submission(h, 1, b"\x0c" * 32, "BAD_SIGNATURE")
    (event,) = world.admin.events(names={"SubmissionRefused"})
    assert (event.hospital, event.reason, event.round) == (h, "BAD_SIGNATURE", 1)
    _reverts("NotMiner", lambda: world.outsider.refuse_submission(h, 1, b"\x0c" * 32, "X"))
