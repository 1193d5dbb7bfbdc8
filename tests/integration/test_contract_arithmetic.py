"""The Python mirrors of the ledger's arithmetic, checked against the deployed contract.

Credits (``node.chain.rewards``: weights capped by ``cap_weights``, deciding votes, u, q),
the hold-out verdict (``node.chain.holdout``) and the quorum bounds are re-implemented in
Python for miners and auditors. Each test here drives a real ledger on anvil with random
inputs and compares what the contract did with what the mirror predicts.
"""

from __future__ import annotations

import os
import random

import pytest

from node.chain.holdout import Tally, Verdict, clipped_gain, verdict
from node.chain.models import UpdateStatus
from node.chain.rewards import credits_from_events
from node.chain.tx import ContractReverted
from node.crypto.packing import cap_weights
from node.identity import devnet_account

AGG, MODEL = b"\x0a" * 32, b"\x0b" * 32


def _minted(events) -> dict[int, dict[str, int]]:
    """Transfer events from address(0), per round (the contract's own account of a seal)."""
    sealed = {e.block_number: e.round for e in events if e.event == "RoundSealed"}
    out: dict[int, dict[str, int]] = {}
    for e in events:
        if e.event == "Transfer":
            out.setdefault(sealed[e.block_number], {})[e.to] = e.value
    return out


def _random_round(
    world, rng: random.Random, round_id: int, prev: bytes, model: bytes, n: int
) -> bool:
    """One round with random claims, votes and reports on ``model``; True if it sealed."""
    world.open_round(round_id, prev=prev, min_updates=2)
    quorum = world.admin.quorum()
    ids = []
    for k in range(n):
        left = world.admin.round(round_id).weight_left
        cap = left * world.admin.max_share_ppm() // 1_000_000
        samples = rng.choice([1, rng.randint(1, 50), rng.randint(1, max(1, cap))])
        aligned = world.admin.member(world.hospitals[k].account.address).shared_size
        ids.append(world.propose(k, round_id, min(samples, cap, aligned)))
    # random verdicts: most updates accepted, some refused by rejections
    for uid in ids:
        refuse = rng.random() < 0.25
        voters = [m for m in world.miners if m.account.address not in _voted(world, uid)]
        rng.shuffle(voters)
        for m in voters:
            status = world.admin.update(uid).status
            if status is not UpdateStatus.PENDING:
                break
            if refuse:
                m.reject_update(uid, "RANDOM")
            else:
                m.approve_updates([uid])
        assert world.admin.update(uid).status is not UpdateStatus.PENDING or quorum > n
    if world.admin.round(round_id).accepted < 2:
        world.advance(world.admin.round(round_id).deadline - world.now() + 1)
        world.packer_for(round_id).reject_round(round_id, "NOT_READY")
        return False
    packer = world.packer_for(round_id)
    packer.commit_aggregate(round_id, AGG, world.admin.round(round_id).accepted)
    others = [m for m in world.miners if m is not packer][: quorum - 1]
    for m in others:
        m.attest_aggregate(round_id, AGG)
    for m in others:
        m.attest_candidate(round_id, model)
    for h in world.hospitals:
        if rng.random() < 0.8:
            before = rng.randint(0, 1_000_000)
            after = max(0, min(1_000_000, before + rng.randint(-150_000, 150_000)))
            h.report_holdout(round_id, model, before, after)
    world.advance(world.timeout)  # the hold-out window is over
    try:
        packer.seal_round(round_id, model)
    except ContractReverted as exc:
        assert exc.error_name in {"HoldoutFailed", "CandidateNotReported"}, exc
        world.advance(world.timeout)
        world.packer_for(round_id).reject_round(round_id, exc.error_name)
        return False
    return True


def _voted(world, uid: int) -> set[str]:
    info = world.admin.update(uid)
    return {world.miners[i].account.address for i in info.approvals + info.rejections}


@pytest.mark.parametrize("seed", range(4))
def test_credits_recomputed_from_events_equal_what_the_contract_minted(make_world, seed):
    rng = random.Random(seed)
    n = rng.randint(3, 4)  # the devnet funds accounts 0-9: four pairs at most
    world = make_world(
        n,
        rates=(rng.randint(0, 9), rng.randint(0, 20), rng.randint(0, 100)),
        holdout=(rng.randint(0, n), rng.randint(0, 50_000)),
        max_share_ppm=rng.choice([500_000, 600_000, 750_000, 1_000_000]),
        aligned=None,
    )
    for k in range(n):
        world.align(k, rng.randint(1, 5_000), rng.randint(0, 1_000_000))
    prev, sealed = b"\x01" * 32, 0
    for round_id in range(1, 4):
        model = os.urandom(32)
        if _random_round(world, rng, round_id, prev, model, n):
            prev, sealed = model, sealed + 1  # the next round starts from the sealed model
    assert sealed >= 1  # (the seeds are chosen so that every run mints something)
    events = world.admin.events()
    assert credits_from_events(events) == _minted(events)
    for account in {e.to for e in events if e.event == "Transfer"}:
        recomputed = sum(r.get(account, 0) for r in credits_from_events(events).values())
        assert world.admin.balance_of(account) == recomputed


@pytest.mark.parametrize("seed", range(3))
def test_capped_weights_mirror_the_contracts_hospital_credits(make_world, seed):
    """One hospital claims far more than the others: both sides cap it the same way."""
    rng = random.Random(100 + seed)
    share = rng.choice([500_000, 550_000, 800_000])
    world = make_world(3, rates=(1000, 0, 0), max_share_ppm=share, aligned=1 << 20)
    world.open_round(1, min_updates=3)
    samples = [rng.randint(1, 300), rng.randint(1, 300), 1 << 18]
    ids = world.accept_all(1, samples)
    assert all(world.admin.update(u).status is UpdateStatus.ACCEPTED for u in ids)
    packer = world.packer_for(1)
    packer.commit_aggregate(1, AGG, 3)
    other = next(m for m in world.miners if m is not packer)
    other.attest_aggregate(1, AGG)
    other.attest_candidate(1, MODEL)
    packer.seal_round(1, MODEL)
    weights = cap_weights(samples, share)
    total = sum(weights)
    assert weights[2] * 1_000_000 <= share * total  # the big one carries at most its share
    for k, h in enumerate(world.hospitals):
        assert world.admin.balance_of(h.account.address) == weights[k] * 1000


def test_holdout_verdicts_mirror_the_contract(make_world):
    """Random report patterns: the Python verdict says whether sealRound passes, and why."""
    rng = random.Random(7)
    for trial in range(6):
        n = 4
        policy = rng.randint(1, n)
        world = make_world(n, holdout=(policy, rng.randint(0, 20_000)))
        world.open_round(1)
        world.accept_all(1)
        packer = world.packer_for(1)
        packer.commit_aggregate(1, AGG, n)
        others = [m for m in world.miners if m is not packer][:2]
        for m in others:
            m.attest_aggregate(1, AGG)
        for m in others:
            m.attest_candidate(1, MODEL)
        margin = world.admin.holdout_policy()[1]
        tally, total = Tally(), 0
        for h in world.hospitals:
            choice = rng.random()
            if choice < 0.3:
                continue  # silent
            candidate = MODEL if choice < 0.85 else b"\x0c" * 32
            before = rng.randint(0, 1_000_000)
            after = max(0, min(1_000_000, before + rng.randint(-60_000, 60_000)))
            h.report_holdout(1, candidate, before, after)
            total += 1
            if candidate == MODEL:
                worse = after + margin < before
                tally = Tally(
                    tally.reports + 1,
                    tally.worse + worse,
                    tally.gain_sum + clipped_gain(before, after),
                )
        over = rng.random() < 0.5
        if over:
            world.advance(world.timeout)
        predicted = verdict(tally, total=total, policy=policy, accepted=n, window_over=over)
        expected_error = {
            Verdict.PASSED: None,
            Verdict.FAILED: "HoldoutFailed",
            Verdict.PENDING: "HoldoutPending",
            Verdict.NOT_REPORTED: "CandidateNotReported",
        }[predicted]
        try:
            packer.seal_round(1, MODEL)
            error = None
        except ContractReverted as exc:
            error = exc.error_name
        assert error == expected_error, (trial, tally, total, policy, over)
        assert world.admin.holdout_tally(1, MODEL).model_dump() == {
            "reports": tally.reports,
            "worse": tally.worse,
            "gain_sum": tally.gain_sum,
        }


@pytest.mark.parametrize("miners", [2, 3, 4, 5, 7])
def test_quorum_bounds_are_a_majority_of_the_active_miners(make_world, miners):
    world = make_world(miners, aligned=None)
    low = miners // 2 + 1
    assert low <= world.admin.quorum() <= miners
    for q in range(1, 17):
        if low <= q <= miners:
            world.admin.set_quorum(q)
            assert world.admin.quorum() == q
        else:
            with pytest.raises(ContractReverted):
                world.admin.set_quorum(q)
    assert devnet_account(0).address == world.admin.account.address
