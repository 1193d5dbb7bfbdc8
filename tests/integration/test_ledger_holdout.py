"""The ledger's hold-out gate and edge-refusal record."""

from __future__ import annotations

import pytest

from node.chain.models import RoundStatus
from node.chain.tx import ContractReverted


def _committed(world, reports: int = 4, margin: int = 1000):
    world.admin.set_holdout_policy(reports, margin)
    world.open_round(1)
    world.accept_all(1)
    packer = world.packer_for(1)
    packer.commit_aggregate(1, b"\x0a" * 32, 4)
    for m in [m for m in world.miners if m is not packer][:2]:
        m.attest_aggregate(1, b"\x0a" * 32)
    return packer


def _reverts(name: str, call) -> None:
    with pytest.raises(ContractReverted) as info:
        call()
    assert info.value.error_name == name


def test_seal_waits_for_reports_then_passes(world):
    packer = _committed(world)
    _reverts("HoldoutPending", lambda: packer.seal_round(1, b"\x0b" * 32))
    for k, h in enumerate(world.hospitals):
        h.report_holdout(1, b"\x0b" * 32, 700_000, 700_000 + k)
    packer.seal_round(1, b"\x0b" * 32)
    assert world.admin.round(1).status == RoundStatus.SEALED


def test_worse_majority_blocks_the_seal_and_the_packer_rejects(world):
    packer = _committed(world)
    for k, h in enumerate(world.hospitals):
        h.report_holdout(1, b"\x0b" * 32, 700_000, 650_000 if k < 3 else 701_000)
    info = world.admin.round(1)
    assert info.holdout_worse == 3 and len(info.holdout_reports) == 4
    _reverts("HoldoutFailed", lambda: packer.seal_round(1, b"\x0b" * 32))
    packer.reject_round(1, "HOLDOUT_WORSE")
    assert world.admin.total_supply() == 0


def test_within_margin_is_not_worse(world):
    _committed(world, margin=1000)
    world.hospitals[0].report_holdout(1, b"\x0b" * 32, 700_000, 699_500)
    assert world.admin.round(1).holdout_worse == 0


def test_missing_reports_stop_blocking_after_the_timeout(world):
    packer = _committed(world)
    world.hospitals[0].report_holdout(1, b"\x0b" * 32, 1, 2)
    world.advance(world.timeout)
    packer.seal_round(1, b"\x0b" * 32)
    assert world.admin.round(1).status == RoundStatus.SEALED


def test_reports_only_from_hospitals_once_per_committed_round(world):
    world.admin.set_holdout_policy(4, 0)
    world.open_round(1)
    _reverts("RoundNotCommitted", lambda: world.hospitals[0].report_holdout(1, b"\x0b" * 32, 1, 1))
    world.accept_all(1)
    world.packer_for(1).commit_aggregate(1, b"\x0a" * 32, 4)
    _reverts("NotHospital", lambda: world.miners[0].report_holdout(1, b"\x0b" * 32, 1, 1))
    world.hospitals[0].report_holdout(1, b"\x0b" * 32, 1, 1)
    _reverts("AlreadyReported", lambda: world.hospitals[0].report_holdout(1, b"\x0b" * 32, 1, 1))


def test_edge_refusals_are_recorded_by_miners_only(world):
    world.open_round(1)
    h = world.hospitals[0].account.address
    world.miners[0].refuse_submission(h, 1, b"\x0c" * 32, "BAD_SIGNATURE")
    (event,) = world.admin.events(names={"SubmissionRefused"})
    assert (event.hospital, event.reason, event.round) == (h, "BAD_SIGNATURE", 1)
    _reverts("NotMiner", lambda: world.outsider.refuse_submission(h, 1, b"\x0c" * 32, "X"))
