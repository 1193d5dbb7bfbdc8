"""Credits minted at the seal: arithmetic, Transfer events, and history rebuilt from events."""

from __future__ import annotations

from collections import Counter

from node.chain.models import UpdateStatus
from node.chain.rewards import credits_from_events

AGG = b"\x0a" * 32


def _commit_and_seal(world, round_id, model):
    packer = world.packer_for(round_id)
    packer.commit_aggregate(round_id, AGG, world.admin.round(round_id).accepted)
    for m in [m for m in world.miners if m is not packer][: world.admin.quorum() - 1]:
        m.attest_aggregate(round_id, AGG)
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

    # verifications = approvals of accepted updates, each proposal counting as one:
    # miner0 proposes 0; miner1 proposes 1, approves 0 and 3; miner2 approves 0, 1, 3;
    # miner3 proposes 3, approves 1.
    verifications = Counter()
    for uid in (ids[0], ids[1], ids[3]):
        for index in world.admin.update(uid).approvals:
            verifications[index] += 1
    assert verifications == Counter({0: 1, 1: 3, 2: 3, 3: 2})
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
    assert world.admin.total_supply() == 110 + 2 * (4 * 4 * 10) + 2 * 50


def test_rejected_round_credits_nobody(world):
    world.open_round(1)
    world.accept_all(1)
    world.admin.reject_round(1, "worse on held-out checks")
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
    world.admin.set_rates(1, 2, 3)
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
