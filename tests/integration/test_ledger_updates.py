"""Proposing, approving and rejecting hospital updates on a real anvil."""

from __future__ import annotations

import os

import pytest
from eth_account import Account

from node.chain.models import UpdateStatus, update_id
from node.chain.signing import sign_update, update_digest
from node.chain.tx import ContractReverted
from node.identity import devnet_account

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _reverts(name, call, *args):
    with pytest.raises(ContractReverted) as err:
        call(*args)
    assert err.value.error_name == name, err.value
    return err.value


def test_paired_miner_proposes_a_signed_update_that_counts_as_its_approval(world):
    world.open_round(1)
    blob = os.urandom(32)
    signature = world.hospitals[1].sign_update(1, blob, 250)
    uid, result = world.miners[1].propose_update(
        world.hospitals[1].account.address, 1, blob, 250, signature
    )
    assert uid == update_id(1, 0)
    event = result.of("UpdateProposed")[0]
    assert (
        event.round,
        event.hospital,
        event.miner,
        event.blob_hash,
        event.sample_count,
        event.signature,
    ) == (
        1,
        world.hospitals[1].account.address,
        world.miners[1].account.address,
        "0x" + blob.hex(),
        250,
        "0x" + signature.hex(),
    )
    stored = world.admin.update(uid)
    assert (stored.status, stored.approvals, stored.sample_count) == (
        UpdateStatus.PENDING,
        [1],
        250,
    )
    assert world.admin.round(1).proposed_by == [1]


def test_python_digest_matches_the_contracts(world):
    blob = os.urandom(32)
    ours = update_digest(
        chain_id=31337, ledger=world.admin.address, round_id=5, blob_hash=blob, sample_count=9
    )
    assert ours == world.admin.update_digest(5, blob, 9)


def test_any_active_miner_may_propose_a_hospitals_signed_update(world):
    """A miner that is not the hospital's own carries it too: no miner can censor it."""
    world.open_round(1)
    blob = os.urandom(32)
    hospital = world.hospitals[0].account.address
    signature = world.hospitals[0].sign_update(1, blob, 10)
    _reverts("NotMiner", world.hospitals[0].propose_update, hospital, 1, blob, 10, signature)
    _reverts("NotMiner", world.outsider.propose_update, hospital, 1, blob, 10, signature)
    uid, result = world.miners[1].propose_update(hospital, 1, blob, 10, signature)
    assert result.of("UpdateProposed")[0].miner == world.miners[1].account.address
    assert world.admin.update(uid).approvals == [1]  # the proposer's approval
    assert world.admin.round(1).proposed_by == [0]  # the hospital's slot, for the replay guard
    _reverts("AlreadyProposed", world.miners[0].propose_update, hospital, 1, blob, 10, signature)


def test_bad_signatures_are_refused(world):
    world.open_round(1)
    blob = os.urandom(32)
    hospital = world.hospitals[0].account.address
    miner = world.miners[0]
    by_other = world.hospitals[1].sign_update(1, blob, 10)
    _reverts("BadSignature", miner.propose_update, hospital, 1, blob, 10, by_other)
    other_count = world.hospitals[0].sign_update(1, blob, 11)
    _reverts("BadSignature", miner.propose_update, hospital, 1, blob, 10, other_count)
    other_chain = sign_update(
        world.hospitals[0].account,
        chain_id=1,
        ledger=world.admin.address,
        round_id=1,
        blob_hash=blob,
        sample_count=10,
    )
    _reverts("BadSignature", miner.propose_update, hospital, 1, blob, 10, other_chain)
    good = world.hospitals[0].sign_update(1, blob, 10)
    r, s, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # same signer, malleated
    _reverts("MalformedSignature", miner.propose_update, hospital, 1, blob, 10, high_s)
    _reverts(
        "MalformedSignature",
        miner.propose_update,
        hospital,
        1,
        blob,
        10,
        good[:64] + bytes([v - 27]),
    )
    _reverts("MalformedSignature", miner.propose_update, hospital, 1, blob, 10, good[:64])
    miner.propose_update(hospital, 1, blob, 10, good)


def test_replayed_update_is_rejected_in_its_round_and_the_next(world):
    world.open_round(1, min_updates=2)
    blob = os.urandom(32)
    hospital = world.hospitals[0].account.address
    signature = world.hospitals[0].sign_update(1, blob, 10)
    uid, _ = world.miners[0].propose_update(hospital, 1, blob, 10, signature)
    _reverts("AlreadyProposed", world.miners[0].propose_update, hospital, 1, blob, 10, signature)
    other = world.propose(1)
    world.miners[2].approve_updates([uid, other])
    world.miners[3].approve_updates([uid, other])
    packer = world.packer_for(1)
    packer.commit_aggregate(1, b"\x05" * 32, 2)
    others = [m for m in world.miners if m is not packer][:2]
    for m in others:
        m.attest_aggregate(1, b"\x05" * 32)
    for m in others:
        m.attest_candidate(1, b"\x06" * 32)
    packer.seal_round(1, b"\x06" * 32)
    world.open_round(2, prev=b"\x06" * 32)
    _reverts("BadSignature", world.miners[0].propose_update, hospital, 2, blob, 10, signature)


def test_proposals_need_an_open_round_before_its_deadline(world):
    blob = os.urandom(32)
    hospital = world.hospitals[0].account.address
    signature = world.hospitals[0].sign_update(1, blob, 10)
    _reverts("RoundNotOpen", world.miners[0].propose_update, hospital, 1, blob, 10, signature)
    world.open_round(1, deadline_in=100)
    sig2 = world.hospitals[0].sign_update(2, blob, 10)
    _reverts("RoundNotOpen", world.miners[0].propose_update, hospital, 2, blob, 10, sig2)
    world.advance(200)
    _reverts("DeadlinePassed", world.miners[0].propose_update, hospital, 1, blob, 10, signature)


def test_update_is_accepted_at_quorum_with_batched_approvals(world):
    world.open_round(1, min_updates=2)
    first, second = world.propose(0), world.propose(1)
    result = world.miners[2].approve_updates([first, second])
    assert [e.approvals for e in result.of("UpdateApproved")] == [2, 2]
    assert not result.of("UpdateAccepted")
    result = world.miners[3].approve_updates([first, second])
    accepted = result.of("UpdateAccepted")
    assert [(e.update_id, e.hospital) for e in accepted] == [
        (first, world.hospitals[0].account.address),
        (second, world.hospitals[1].account.address),
    ]
    assert result.of("RoundReady")
    assert world.admin.update(first).status == UpdateStatus.ACCEPTED
    assert world.admin.update(first).approvals == [0, 2, 3]
    round_info = world.admin.round(1)
    assert (round_info.accepted, round_info.ready_at > 0) == (2, True)


def test_double_approval_and_approving_own_proposal_are_refused(world):
    world.open_round(1)
    uid = world.propose(0)
    world.miners[1].approve_update(uid)
    _reverts("AlreadyVoted", world.miners[1].approve_update, uid)
    _reverts("AlreadyVoted", world.miners[0].approve_update, uid)
    _reverts("AlreadyVoted", world.miners[1].reject_update, uid, "changed my mind")
    _reverts("UnknownUpdate", world.miners[1].approve_update, update_id(1, 7))
    _reverts("NotMiner", world.hospitals[1].approve_update, uid)


def test_rejections_refuse_an_update_once_quorum_is_out_of_reach(world):
    world.open_round(1)
    uid = world.propose(0)
    first = world.miners[1].reject_update(uid, "ciphertext count 3, expected 4")
    assert first.of("UpdateRejected")[0].reason == "ciphertext count 3, expected 4"
    assert not first.of("UpdateRefused")
    second = world.miners[2].reject_update(uid, "bad blob hash")
    assert second.of("UpdateRefused")[0].update_id == uid
    assert world.admin.update(uid).status == UpdateStatus.REJECTED
    _reverts("UpdateClosed", world.miners[3].approve_update, uid)


def test_alignment_caps_the_sample_count(world):
    result = world.align(0, 120, run=3)
    event = result.events[0]
    assert (event.hospital, event.run, event.shared_size, event.recorder) == (
        world.hospitals[0].account.address,
        3,
        120,
        world.admin.account.address,
    )
    member = world.admin.member(world.hospitals[0].account.address)
    assert (member.aligned, member.shared_size) == (True, 120)
    world.open_round(1)
    err = _reverts("SampleCountTooLarge", world.propose, 0, 1, 121)
    assert err.error_args == {"sampleCount": 121, "limit": 120}
    world.propose(0, 1, 120)


def test_a_hospital_that_never_aligned_weighs_nothing(make_world):
    world = make_world(3, aligned=None)
    world.align(1, 100)
    world.align(2, 100)
    world.open_round(1, min_updates=2)
    err = _reverts("NotAligned", world.propose, 0, 1, 1)
    assert err.error_args == {"hospital": world.hospitals[0].account.address}
    world.propose(1, 1, 100)


def test_only_a_relay_records_and_only_what_the_hospital_signed(world):
    """The admin or a miner records; the hospital's signature binds the values."""
    h = world.hospitals[0]
    hospital, digest = h.account.address, b"\x09" * 32
    signature = h.sign_alignment(7, digest, 120, 900_000)
    args = (hospital, 7, digest, 120, 900_000, signature)
    # a hospital cannot record its own weight, nor can an outsider
    _reverts("NotRelay", h.record_alignment, *args)
    _reverts("NotRelay", world.outsider.record_alignment, *args)
    # a relay cannot record values the hospital did not sign (a victim's size set to 0)
    _reverts(
        "BadSignature", world.miners[1].record_alignment, hospital, 7, digest, 0, 900_000, signature
    )
    _reverts(
        "BadSignature",
        world.miners[1].record_alignment,
        hospital,
        7,
        digest,
        120,
        1_000_000,
        signature,
    )
    # a miner may relay, as may the admin
    world.miners[1].record_alignment(*args)
    assert world.admin.member(hospital).shared_size == 120
    assert world.admin.alignment_run(hospital) == 7
    # an older signed outcome cannot be replayed over a newer one
    old = h.sign_alignment(6, digest, 5000, 1_000_000)
    _reverts(
        "StaleAlignment", world.admin.record_alignment, hospital, 6, digest, 5000, 1_000_000, old
    )


def test_signature_from_a_fresh_key_is_not_the_hospitals(world):
    world.open_round(1)
    stranger = Account.create()
    blob = os.urandom(32)
    signature = sign_update(
        stranger,
        chain_id=31337,
        ledger=world.admin.address,
        round_id=1,
        blob_hash=blob,
        sample_count=10,
    )
    err = _reverts(
        "BadSignature",
        world.miners[0].propose_update,
        world.hospitals[0].account.address,
        1,
        blob,
        10,
        signature,
    )
    assert err.error_args["recovered"] == stranger.address
    assert devnet_account(1).address == world.hospitals[0].account.address


def test_alignment_records_the_unique_patient_fraction_and_the_update_keeps_it(world):
    result = world.align(0, 120, 400_000, run=4)
    assert result.events[0].unique_ppm == 400_000
    assert world.admin.member(world.hospitals[0].account.address).unique_ppm == 400_000
    _reverts("InvalidUniqueFraction", lambda: world.align(0, 120, 1_000_001, run=5))
    _reverts("SampleCountTooLarge", lambda: world.align(0, 2**32, 1, run=5))


def test_a_round_takes_no_more_weight_than_its_spec_allows_and_refusals_give_it_back(world):
    now = world.now()
    _reverts(
        "InvalidMaxTotalWeight",
        world.admin.open_round,
        1,
        b"\x01" * 32,
        now + 3600,
        4,
        b"\x02" * 32,
        3,
    )  # four updates of weight >= 1 cannot fit in 3
    world.admin.open_round(1, b"\x01" * 32, now + 3600, 2, b"\x02" * 32, 250)
    (opened,) = world.admin.events(names={"RoundOpened"})
    assert opened.max_total_weight == 250
    first = world.propose(0, 1, 100)
    world.propose(1, 1, 100)
    assert world.admin.round(1).weight_left == 50
    err = _reverts("RoundWeightExceeded", world.propose, 2, 1, 51)
    assert err.error_args == {"round": 1, "sampleCount": 51, "weightLeft": 50}
    world.miners[1].reject_update(first, "MALFORMED")
    world.miners[2].reject_update(first, "MALFORMED")  # refused: its 100 are free again
    assert world.admin.round(1).weight_left == 150
    world.propose(2, 1, 150)
    assert world.admin.round(1).weight_left == 0
    _reverts("RoundWeightExceeded", world.propose, 3, 1, 1)


def test_one_update_takes_at_most_its_share_of_the_room_left(make_world):
    """With a half share, a hospital claiming 2^20 cannot fill the round for the others."""
    world = make_world(3, max_share_ppm=500_000, aligned=1 << 20)
    now = world.now()
    world.admin.open_round(1, b"\x01" * 32, now + 3600, 2, b"\x02" * 32, 1 << 20)
    err = _reverts("RoundWeightExceeded", world.propose, 0, 1, 1 << 20)
    assert err.error_args["weightLeft"] == 1 << 20
    world.propose(0, 1, 1 << 19)  # half the room: allowed, and half is left
    world.propose(1, 1, 100)
    world.propose(2, 1, 100)
    assert world.admin.round(1).weight_left == (1 << 19) - 200


def test_a_round_holds_at_most_the_specs_max_updates(world):
    world.open_round(1, min_updates=2, max_updates=2)
    world.propose(0)
    world.propose(1)
    err = _reverts("TooManyUpdates", world.propose, 2)
    assert err.error_args == {"round": 1, "maxUpdates": 2}
