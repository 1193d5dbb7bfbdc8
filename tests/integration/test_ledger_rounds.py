"""Opening, packing (proposer rotation), attesting, sealing and rejecting rounds on anvil."""

from __future__ import annotations

import pytest

from node.chain.models import RoundStatus
from node.chain.tx import ContractReverted

AGG = b"\x0a" * 32
MODEL = b"\x0b" * 32


def _reverts(name, call, *args):
    with pytest.raises(ContractReverted) as err:
        call(*args)
    assert err.value.error_name == name, err.value
    return err.value


def _ready(world, round_id=1):
    world.open_round(round_id)
    return world.accept_all(round_id)


def test_open_round_records_its_parameters(world):
    deadline = world.now() + 500
    result = world.admin.open_round(1, b"\x01" * 32, deadline, 3, b"\x02" * 32)
    event = result.events[0]
    assert (event.round, event.deadline, event.min_updates, event.prev_model_hash) == (
        1,
        deadline,
        3,
        "0x" + "01" * 32,
    )
    info = world.admin.round(1)
    assert (info.status, info.deadline, info.min_updates, info.model_spec_hash) == (
        RoundStatus.OPEN,
        deadline,
        3,
        "0x" + "02" * 32,
    )
    assert world.admin.current_round() == 1


def test_open_round_refuses_bad_parameters(world):
    now = world.now()
    _reverts("NotAdmin", world.miners[0].open_round, 1, b"\x01" * 32, now + 100, 2, b"\x02" * 32)
    _reverts("InvalidRound", world.admin.open_round, 2, b"\x01" * 32, now + 100, 2, b"\x02" * 32)
    _reverts("InvalidDeadline", world.admin.open_round, 1, b"\x01" * 32, now - 1, 2, b"\x02" * 32)
    # an aggregate of one update would decrypt that update: a round needs two at least
    for too_few in (0, 1):
        _reverts(
            "InvalidMinUpdates",
            world.admin.open_round,
            1,
            b"\x01" * 32,
            now + 100,
            too_few,
            b"\x02" * 32,
        )
    # ... and no more than there are miners to carry them
    _reverts(
        "InvalidMinUpdates", world.admin.open_round, 1, b"\x01" * 32, now + 100, 5, b"\x02" * 32
    )
    _reverts(
        "InvalidMaxUpdates",
        world.admin.open_round,
        1,
        b"\x01" * 32,
        now + 100,
        3,
        b"\x02" * 32,
        1 << 20,
        2,
    )
    world.open_round(1)
    _reverts("InvalidRound", world.admin.open_round, 2, b"\x01" * 32, now + 100, 2, b"\x02" * 32)


def test_commit_needs_a_ready_round_and_every_accepted_update(world):
    world.open_round(1)
    world.propose(0)
    packer = world.packer_for(1)
    _reverts("NotReady", packer.commit_aggregate, 1, AGG, 0)
    ids = [world.propose(k) for k in (1, 2, 3)]
    world.miners[0].approve_updates(ids)
    _reverts("NotReady", packer.commit_aggregate, 1, AGG, 3)
    world.miners[1].approve_updates([1 << 16])  # update 0 of round 1, now two approvals
    for j, uid in [(2, 1 << 16), (2, ids[0]), (1, ids[1]), (1, ids[2])]:
        world.miners[j].approve_update(uid)
    assert world.admin.round(1).accepted == 4
    _reverts("AcceptedCountMismatch", packer.commit_aggregate, 1, AGG, 3)
    result = packer.commit_aggregate(1, AGG, 4)
    event = result.of("AggregateCommitted")[0]
    assert (event.packer, event.aggregate_hash, event.accepted_updates) == (
        packer.account.address,
        "0x" + AGG.hex(),
        4,
    )
    info = world.admin.round(1)
    assert (info.status, info.aggregate_hash, info.attestations) == (
        RoundStatus.COMMITTED,
        "0x" + AGG.hex(),
        [world.miners.index(packer)],
    )


def test_next_miner_may_pack_only_after_the_proposer_timeout(world):
    _ready(world)
    designated = world.packer_for(1)
    index = world.miners.index(designated)
    second = world.miners[(index + 1) % 4]
    third = world.miners[(index + 2) % 4]
    assert world.admin.proposer_at(1, 1) == second.account.address
    assert not second.may_pack(1)
    _reverts("NotProposer", second.commit_aggregate, 1, AGG, 4)
    world.advance(world.timeout)
    assert second.may_pack(1) and not third.may_pack(1)
    _reverts("NotProposer", third.commit_aggregate, 1, AGG, 4)
    second.commit_aggregate(1, AGG, 4)
    assert world.admin.round(1).packer == (index + 1) % 4


def _attested(world, round_id=1):
    """Commit round ``round_id`` and have a quorum (3 of 4) attest it; returns the packer."""
    packer = world.packer_for(round_id)
    packer.commit_aggregate(round_id, AGG, 4)
    for m in [m for m in world.miners if m is not packer][:2]:
        m.attest_aggregate(round_id, AGG)
    return packer


def test_attestations_reach_quorum_and_the_packer_seals(world):
    _ready(world)
    packer = world.packer_for(1)
    others = [m for m in world.miners if m is not packer]
    _reverts("RoundNotCommitted", others[0].attest_aggregate, 1, AGG)
    packer.commit_aggregate(1, AGG, 4)
    _reverts("NoQuorum", packer.seal_round, 1, MODEL)
    _reverts("AggregateMismatch", others[0].attest_aggregate, 1, b"\x0c" * 32)
    result = others[0].attest_aggregate(1, AGG)
    assert result.events[0].attestations == 2
    _reverts("AlreadyAttested", others[0].attest_aggregate, 1, AGG)
    _reverts("AlreadyAttested", packer.attest_aggregate, 1, AGG)
    _reverts("NoQuorum", packer.seal_round, 1, MODEL)
    # no candidate vote before a quorum attested the aggregate
    _reverts("NoQuorum", others[0].attest_candidate, 1, MODEL)
    others[1].attest_aggregate(1, AGG)
    # the aggregate has its quorum; the candidate does not: the packer's seal is one vote
    _reverts("NoQuorum", packer.seal_round, 1, MODEL)
    voted = others[0].attest_candidate(1, MODEL).of("CandidateAttested")[0]
    assert (voted.miner, voted.candidate_hash, voted.votes) == (
        others[0].account.address,
        "0x" + MODEL.hex(),
        1,
    )
    _reverts("AlreadyAttested", others[0].attest_candidate, 1, b"\x0c" * 32)
    _reverts("NoQuorum", packer.seal_round, 1, MODEL)
    others[1].attest_candidate(1, MODEL)
    _reverts("NotProposer", others[0].seal_round, 1, MODEL)
    # a hash the quorum did not attest cannot be sealed, even by the packer
    _reverts("NoQuorum", packer.seal_round, 1, b"\x0e" * 32)
    sealed = packer.seal_round(1, MODEL).of("RoundSealed")[0]
    assert (sealed.round, sealed.new_model_hash, sealed.packer) == (
        1,
        "0x" + MODEL.hex(),
        packer.account.address,
    )
    assert world.admin.round(1).status == RoundStatus.SEALED
    assert world.admin.model_hash() == "0x" + MODEL.hex()
    _reverts("RoundNotCommitted", packer.seal_round, 1, MODEL)
    _reverts("RoundNotOpen", world.miners[0].approve_update, 1 << 16)


def test_another_miner_seals_after_a_silent_packer_times_out(world):
    _ready(world)
    packer = _attested(world)
    others = [m for m in world.miners if m is not packer]
    others[0].attest_candidate(1, MODEL)
    others[1].attest_candidate(1, MODEL)
    _reverts("NotProposer", others[2].seal_round, 1, MODEL)
    world.advance(world.timeout)
    result = others[2].seal_round(1, MODEL)
    assert result.of("RoundSealed")[0].packer == packer.account.address


def test_next_round_must_build_on_the_sealed_model(world):
    _ready(world)
    packer = _attested(world)
    for m in [m for m in world.miners if m is not packer][:2]:
        m.attest_candidate(1, MODEL)
    packer.seal_round(1, MODEL)
    now = world.now()
    _reverts(
        "ModelHashMismatch", world.admin.open_round, 2, b"\x01" * 32, now + 100, 2, b"\x02" * 32
    )
    world.admin.open_round(2, MODEL, now + 100, 2, b"\x02" * 32)


def test_partials_only_after_an_attested_commit_and_at_most_two_per_miner(world):
    _ready(world)
    packer = world.packer_for(1)
    _reverts("RoundNotCommitted", packer.submit_partial_decryption, 1, b"\x0d" * 32)
    packer.commit_aggregate(1, AGG, 4)
    # the packer's own word is not enough: nobody decrypts before a quorum attested
    _reverts("NoQuorum", packer.submit_partial_decryption, 1, b"\x0d" * 32)
    for m in [m for m in world.miners if m is not packer][:2]:
        m.attest_aggregate(1, AGG)
    event = world.miners[0].submit_partial_decryption(1, b"\x0d" * 32).events[0]
    assert (event.round, event.miner, event.blob_hash) == (
        1,
        world.miners[0].account.address,
        "0x" + "0d" * 32,
    )
    world.miners[0].submit_partial_decryption(1, b"\x0e" * 32)  # its one cover
    _reverts("AlreadySubmitted", world.miners[0].submit_partial_decryption, 1, b"\x0f" * 32)
    votes = world.admin.decryption_votes(1)
    assert (votes.partials, votes.covers) == ([0], [0])
    _reverts("NotMiner", world.hospitals[0].submit_partial_decryption, 1, b"\x0d" * 32)


def test_an_open_round_is_rejected_by_the_due_rotation_only(world):
    world.open_round(1, deadline_in=100, min_updates=2)
    world.propose(0)
    designated = world.packer_for(1)
    _reverts("NotProposer", designated.reject_round, 1, "too early")
    world.advance(150)  # past the deadline without enough updates
    other = next(m for m in world.miners if m is not designated)
    _reverts("NotProposer", other.reject_round, 1, "not my turn")
    _reverts("NotMiner", world.admin.reject_round, 1, "the admin key alone cannot")
    result = designated.reject_round(1, "only 1 of 2 updates by the deadline")
    event = result.events[0]
    assert (event.round, event.by, event.reason) == (
        1,
        designated.account.address,
        "only 1 of 2 updates by the deadline",
    )
    assert world.admin.round(1).status == RoundStatus.REJECTED
    _reverts("RoundNotOpen", designated.reject_round, 1, "again")
    assert world.admin.model_hash() == "0x" + "00" * 32


def test_a_ready_round_is_rejected_only_after_its_whole_packing_window(world):
    _ready(world)
    designated = world.packer_for(1)
    # the designated proposer may not reject a ready round it could have packed
    _reverts("NotProposer", designated.reject_round, 1, "no thanks")
    world.advance(3 * world.timeout)  # three of four miners had their turn
    _reverts("NotProposer", designated.reject_round, 1, "still someone's turn")
    world.advance(world.timeout)
    designated.reject_round(1, "nobody packed in the whole window")
    assert world.admin.round(1).status == RoundStatus.REJECTED


def test_the_packer_rejects_its_own_commit_only_after_the_attestation_window(world):
    _ready(world)
    packer = world.packer_for(1)
    packer.commit_aggregate(1, AGG, 4)
    _reverts("NotProposer", packer.reject_round, 1, "changed my mind")
    world.advance(world.timeout)
    packer.reject_round(1, "no quorum of attestations")
    assert world.admin.round(1).status == RoundStatus.REJECTED
