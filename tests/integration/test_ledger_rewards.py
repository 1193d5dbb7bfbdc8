"""Credits minted at the seal: arithmetic, Transfer events, and history rebuilt from events."""

from __future__ import annotations

from collections import Counter

from node.chain.client import Change
from node.chain.models import RoundStatus, UpdateStatus
from node.chain.rewards import credits_from_events, hospital_settlement

AGG = b"\x0a" * 32


def _attest(world, round_id, model):
    """Commit, a quorum attests the aggregate and the candidate ``model``; returns the packer."""
    packer = world.packer_for(round_id)
    packer.commit_aggregate(round_id, AGG, world.admin.round(round_id).accepted)
    others = [m for m in world.miners if m is not packer][: world.admin.quorum() - 1]
    for m in others:
        m.attest_aggregate(round_id, AGG)
    for m in others:
        m.attest_candidate(round_id, model)
    return packer


def _commit_and_seal(world, round_id, model):
    packer = _attest(world, round_id, model)
    return packer, packer.seal_round(round_id, model)


def test_seal_credits_samples_verifications_and_packing(make_world):
    world = make_world(4, rates=(2, 10, 50))
    world.open_round(1, min_updates=3)
    samples = [100, 200, 300, 400]
    ids = [world.propose(k, 1, samples[k]) for k in range(4)]
    # miner 1 and 2 approve updates 0, 3; miner 2 and 3 approve update 1; update 2 is refused
    world.miners[1].approve_updates([ids[0], ids[3]])
    world.miners[2].approve_updates([ids[0], ids[1], ids[3]])
    world.miners[3].approve_updates([ids[1]])
    world.miners[0].reject_update(ids[2], "malformed")
    world.miners[1].reject_update(ids[2], "malformed")
    assert world.admin.update(ids[2]).status == UpdateStatus.REJECTED
    packer, result = _commit_and_seal(world, 1, b"\x0b" * 32)

    # verifications = the votes that decided an update: approvals of accepted updates (each
    # proposal counting as one) and rejections of refused ones. miner0 proposes 0, rejects 2;
    # miner1 proposes 1, approves 0 and 3, rejects 2; miner2 approves 0, 1, 3; miner3
    # proposes 3, approves 1.
    verifications = Counter()
    for uid in (ids[0], ids[1], ids[3]):
        for index in world.admin.update(uid).approvals:
            verifications[index] += 1
    for index in world.admin.update(ids[2]).rejections:
        verifications[index] += 1
    assert verifications == Counter({0: 2, 1: 4, 2: 3, 3: 2})
    packer_index = world.miners.index(packer)
    expected = {}
    for k in (0, 1, 3):
        expected[world.hospitals[k].account.address] = samples[k] * 2
    for i, miner in enumerate(world.miners):
        expected[miner.account.address] = verifications[i] * 10 + (50 if i == packer_index else 0)
    for address, amount in expected.items():
        assert world.admin.balance_of(address) == amount
    assert world.admin.balance_of(world.hospitals[2].account.address) == 0
    assert world.admin.total_supply() == sum(expected.values())
    transfers = {e.to: e.value for e in result.of("Transfer")}
    assert all(e.from_ == "0x" + "00" * 20 for e in result.of("Transfer"))
    assert transfers == expected
    sealed = result.of("RoundSealed")[0]
    assert sealed.hospital_credits == 2 * (100 + 200 + 400)
    assert sealed.miner_credits == sum(verifications.values()) * 10 + 50


def test_credits_accumulate_across_rounds(world):
    world.open_round(1)
    world.accept_all(1, [10, 20, 30, 40])
    _commit_and_seal(world, 1, b"\x0b" * 32)
    world.open_round(2, prev=b"\x0b" * 32)
    world.accept_all(2, [1, 2, 3, 4])
    _commit_and_seal(world, 2, b"\x0c" * 32)
    assert world.admin.balance_of(world.hospitals[3].account.address) == 44
    # each update pays the quorum of 3 approvals that accepted it, not the 4th after it
    assert world.admin.total_supply() == 110 + 2 * (4 * 3 * 10) + 2 * 50


def test_approvals_after_acceptance_are_not_recorded_or_paid(world):
    world.open_round(1)
    ids = world.accept_all(1)
    for uid in ids:
        assert len(world.admin.update(uid).approvals) == world.admin.quorum()
    late = world.miners[3].approve_updates([ids[0]])  # already accepted: skipped
    assert not late.of("UpdateApproved")
    assert world.admin.update(ids[0]).approvals == [0, 1, 2]


def test_rejected_round_credits_nobody(world):
    world.open_round(1)
    world.accept_all(1)
    world.advance(4 * world.timeout)  # the whole packing window passes without a commit
    world.packer_for(1).reject_round(1, "nobody packed")
    assert world.admin.round(1).status == RoundStatus.REJECTED
    assert world.admin.total_supply() == 0


def test_auditor_rebuilds_every_rounds_credits_from_events_alone(make_world):
    world = make_world(4, rates=(3, 7, 40))
    world.open_round(1, min_updates=2)
    ids = [world.propose(k, 1, 10 * (k + 1)) for k in range(4)]
    world.miners[1].approve_updates([ids[0], ids[3]])
    world.miners[2].approve_updates([ids[0], ids[3]])
    world.miners[0].reject_update(ids[1], "bad")
    world.miners[2].reject_update(ids[1], "bad")
    _commit_and_seal(world, 1, b"\x0b" * 32)
    for m in world.miners[:3]:  # after genesis the rates change by a quorum of miners
        m.vote_change(Change.RATES, value=1 | 2 << 64 | 3 << 128)
    assert world.admin.rates().verifier_rate == 2
    world.open_round(2, prev=b"\x0b" * 32)
    world.accept_all(2, [5, 6, 7, 8])
    _commit_and_seal(world, 2, b"\x0c" * 32)

    events = world.admin.events()
    rebuilt = credits_from_events(events)
    minted: dict[int, dict[str, int]] = {}
    sealed_blocks = {e.block_number: e.round for e in events if e.event == "RoundSealed"}
    for e in events:
        if e.event == "Transfer":
            minted.setdefault(sealed_blocks[e.block_number], {})[e.to] = e.value
    assert rebuilt == minted
    totals = Counter()
    for per_round in rebuilt.values():
        totals.update(per_round)
    for address, value in totals.items():
        assert world.admin.balance_of(address) == value
    assert world.admin.total_supply() == sum(totals.values())


def _reported_round(world, round_id, prev, model, samples, metrics):
    """Every hospital proposes ``samples``; after the commit each reports (before, after)."""
    world.open_round(round_id, prev=prev)
    world.accept_all(round_id, samples)
    packer = _attest(world, round_id, model)
    for h, (before, after) in zip(world.hospitals, metrics, strict=True):
        h.report_holdout(round_id, model, before, after)
    return packer


def test_minted_hospital_credits_are_samples_times_unique_fraction_times_quality(make_world):
    world = make_world(4, rates=(7, 10, 50), holdout=(4, 0), aligned=None)
    unique = [500_000, 333_333, 1_000_000, 1_000_000]
    for k, u in enumerate(unique):
        world.align(k, 1000, u)
    samples = [101, 202, 303, 404]
    # gains +12,345, -3,001, +150,000 (clipped to +100,000) and +1: the mean is 27,336.25 ppm
    packer = _reported_round(
        world,
        1,
        b"\x01" * 32,
        b"\x0b" * 32,
        samples,
        [(700_000, 712_345), (700_000, 696_999), (100_000, 250_000), (5, 6)],
    )
    # u is the one in force at the proposal: a later re-recording does not change round 1
    world.align(0, 1000, 1_000_000, run=2)
    sealed = packer.seal_round(1, b"\x0b" * 32).of("RoundSealed")[0]
    q = 1_000_000 + (10 * (12_345 - 3_001 + 100_000 + 1)) // 4  # 1,273,362 (exact: .5 cut)
    u_in_force = [500_000, 333_333, 1_000_000, 1_000_000]
    expected = [n * 7 * u * q // 10**12 for n, u in zip(samples, u_in_force, strict=True)]
    got = [world.admin.balance_of(h.account.address) for h in world.hospitals]
    assert got == expected == [450, 600, 2700, 3601]
    assert sealed.hospital_credits == sum(expected)

    # a round that got worse on average: Solidity truncates -22.5 toward zero (-22, not -23)
    _reported_round(
        world,
        2,
        b"\x0b" * 32,
        b"\x0c" * 32,
        samples,
        [(500_000, 499_993), (500_000, 499_998), (1, 1), (1, 1)],
    )
    world.packer_for(2).seal_round(2, b"\x0c" * 32)
    q2 = 1_000_000 - 22
    u2 = [1_000_000, 333_333, 1_000_000, 1_000_000]
    round2 = [n * 7 * u * q2 // 10**12 for n, u in zip(samples, u2, strict=True)]
    got2 = [
        world.admin.balance_of(h.account.address) - g
        for h, g in zip(world.hospitals, got, strict=True)
    ]
    assert got2 == round2

    events = world.admin.events()
    rebuilt = credits_from_events(events)
    settled = hospital_settlement(events)
    for k, h in enumerate(world.hospitals):
        address = h.account.address
        assert rebuilt[1][address] == settled[1][address] == expected[k]
        assert rebuilt[2][address] == settled[2][address] == round2[k]
        assert sum(r.get(address, 0) for r in rebuilt.values()) == world.admin.balance_of(address)
    assert sum(sum(r.values()) for r in rebuilt.values()) == world.admin.total_supply()
