"""Registration, configuration and the credit token's read interface on a real anvil."""

from __future__ import annotations

import pytest

from node.chain.client import Change
from node.chain.models import Role
from node.chain.tx import ContractReverted
from node.identity import devnet_account


def test_register_pair_records_both_members_and_emits_event(world):
    hospital, miner = world.hospitals[0].account.address, world.miners[0].account.address
    h, m = world.admin.member(hospital), world.admin.member(miner)
    assert (h.role, h.paired, h.index, h.active) == (Role.HOSPITAL, miner, 0, True)
    assert (m.role, m.paired, m.index, m.active) == (Role.MINER, hospital, 0, True)
    events = world.admin.events(names={"PairRegistered"})
    assert [(e.hospital, e.miner, e.index) for e in events] == [
        (c.account.address, world.miners[i].account.address, i)
        for i, c in enumerate(world.hospitals)
    ]
    assert world.admin.pairs()[2] == (
        world.hospitals[2].account.address,
        world.miners[2].account.address,
    )


@pytest.mark.parametrize(("pairs", "quorum"), [(1, 1), (3, 2), (4, 3)])
def test_default_quorum_is_two_thirds_of_miners_rounded_up(make_world, pairs, quorum):
    assert make_world(pairs).admin.quorum() == quorum


def test_only_admin_registers_and_each_account_once(world):
    with pytest.raises(ContractReverted) as err:
        world.outsider.register_pair(devnet_account(20).address, devnet_account(21).address)
    assert err.value.error_name == "NotAdmin"
    with pytest.raises(ContractReverted) as err:
        world.admin.register_pair(world.hospitals[0].account.address, devnet_account(21).address)
    assert err.value.error_name == "AlreadyRegistered"
    with pytest.raises(ContractReverted) as err:
        world.admin.register_pair(devnet_account(21).address, devnet_account(21).address)
    assert err.value.error_name == "InvalidAddress"


def test_at_most_sixteen_pairs(make_world):
    world = make_world(1)
    for i in range(15):
        world.admin.register_pair(
            devnet_account(10 + 2 * i).address, devnet_account(11 + 2 * i).address
        )
    with pytest.raises(ContractReverted) as err:
        world.admin.register_pair(devnet_account(40).address, devnet_account(41).address)
    assert err.value.error_name == "TooManyPairs"


def test_genesis_admin_settings_emit_events_and_refuse_others(world):
    quorum = world.admin.set_quorum(4)
    rates = world.admin.set_rates(3, 4, 5)
    timeout = world.admin.set_proposer_timeout(7)
    assert (quorum.events[0].quorum_override, quorum.events[0].effective_quorum) == (4, 4)
    assert world.admin.rates().model_dump() == {
        "hospital_rate": 3,
        "verifier_rate": 4,
        "packer_rate": 5,
    }
    assert rates.of("RatesChanged")[0].packer_rate == 5
    assert timeout.events[0].proposer_timeout == 7 and world.admin.proposer_timeout() == 7
    world.admin.set_quorum(0)
    assert world.admin.quorum() == 3
    for call in (
        lambda c: c.set_quorum(3),
        lambda c: c.set_rates(1, 1, 1),
        lambda c: c.set_proposer_timeout(1),
        lambda c: c.transfer_admin(c.account.address),
        lambda c: c.remove_pair(world.hospitals[0].account.address),
    ):
        with pytest.raises(ContractReverted) as err:
            call(world.miners[0])
        assert err.value.error_name == "NotAdmin"


@pytest.mark.parametrize("quorum", [1, 2, 5, 17])
def test_quorum_is_bounded_to_a_majority_of_the_active_miners(world, quorum):
    """Four miners: a quorum is 3 or 4; 1 would let one miner decide, 5 would brick rounds."""
    with pytest.raises(ContractReverted) as err:
        world.admin.set_quorum(quorum)
    assert err.value.error_name == "InvalidQuorum"


def test_an_override_above_the_miners_left_is_clamped_not_bricking(world):
    world.admin.set_quorum(4)
    world.admin.remove_pair(world.hospitals[3].account.address)
    assert world.admin.active_miners() == 3 and world.admin.quorum() == 3


def test_transfer_admin_hands_over_the_role(world):
    new_admin = world.outsider.account.address
    result = world.admin.transfer_admin(new_admin)
    assert world.admin.admin() == new_admin
    assert result.events[0].previous_admin == world.admin.account.address
    with pytest.raises(ContractReverted):
        world.admin.set_quorum(4)
    world.outsider.set_quorum(4)


def test_after_genesis_changes_need_a_quorum_of_miners(world):
    world.open_round(1)
    for call in (
        lambda: world.admin.set_quorum(4),
        lambda: world.admin.set_rates(1, 1, 1),
        lambda: world.admin.remove_pair(world.hospitals[0].account.address),
        lambda: world.admin.register_pair(devnet_account(20).address, devnet_account(21).address),
        lambda: world.admin.transfer_admin(world.outsider.account.address),
    ):
        with pytest.raises(ContractReverted) as err:
            call()
        assert err.value.error_name == "GovernanceRequired"
    first = world.miners[0].vote_change(Change.QUORUM, value=4)
    assert first.of("ChangeVoted")[0].votes == 1 and not first.of("ChangeExecuted")
    with pytest.raises(ContractReverted) as err:
        world.miners[0].vote_change(Change.QUORUM, value=4)
    assert err.value.error_name == "AlreadyVotedChange"
    for outsider in (world.hospitals[0], world.outsider, world.admin):
        with pytest.raises(ContractReverted) as err:
            outsider.vote_change(Change.QUORUM, value=4)
        assert err.value.error_name == "NotMiner"
    world.miners[1].vote_change(Change.QUORUM, value=4)
    assert world.admin.change_votes(Change.QUORUM, value=4) == [0, 1]
    executed = world.miners[2].vote_change(Change.QUORUM, value=4)
    assert executed.of("ChangeExecuted") and executed.of("QuorumChanged")
    assert world.admin.quorum() == 4
    # the executed change bumped the nonce: the same change can be voted again from zero
    assert world.admin.change_votes(Change.QUORUM, value=4) == []


def test_a_quorum_of_miners_replaces_the_admin(world):
    world.open_round(1)
    new_admin = world.outsider.account.address
    for m in world.miners[:3]:
        m.vote_change(Change.ADMIN, a=new_admin)
    assert world.admin.admin() == new_admin


def test_removed_pair_can_no_longer_act_and_quorum_follows(world):
    result = world.admin.remove_pair(world.hospitals[3].account.address)
    assert result.events[0].event == "PairRemoved"
    assert world.admin.active_miners() == 3 and world.admin.quorum() == 2
    assert not world.admin.member(world.miners[3].account.address).active
    world.open_round(1, min_updates=2)
    with pytest.raises(ContractReverted) as err:
        world.propose(3)
    assert err.value.error_name == "NotMiner"
    with pytest.raises(ContractReverted) as err:
        world.admin.remove_pair(world.hospitals[3].account.address)
    assert err.value.error_name == "GovernanceRequired"


def test_removed_miners_leave_the_rotation_and_their_slot_is_reused(world):
    removed = world.miners[1].account.address
    world.admin.remove_pair(world.hospitals[1].account.address)
    active = {world.miners[i].account.address for i in (0, 2, 3)}
    for r in range(1, 7):
        assert world.admin.proposer_at(r, 0) in active  # never the removed miner's turn
        assert {world.admin.proposer_at(r, a) for a in range(3)} == active
    assert removed not in {world.admin.proposer_at(1, a) for a in range(6)}
    # the next pair takes slot 1 again; a removed account is never registered again
    h, m = devnet_account(20).address, devnet_account(21).address
    world.admin.register_pair(h, m)
    assert world.admin.member(h).index == 1 and world.admin.pair_count() == 4
    assert world.admin.active_indexes() == [0, 1, 2, 3]
    with pytest.raises(ContractReverted) as err:
        world.admin.register_pair(world.hospitals[1].account.address, devnet_account(22).address)
    assert err.value.error_name == "AlreadyRegistered"


def test_a_quorum_of_miners_adds_and_removes_pairs_between_rounds(world):
    world.open_round(1)
    h, m = devnet_account(20).address, devnet_account(21).address
    for miner in world.miners[:3]:
        miner.vote_change(Change.REMOVE_PAIR, a=world.hospitals[3].account.address)
    assert world.admin.active_miners() == 3
    # a slot freed during a round is taken again only after that round
    for miner in world.miners[:2]:
        miner.vote_change(Change.ADD_PAIR, a=h, b=m)
    assert world.admin.member(h).index == 4


def test_credits_expose_erc20_reads_and_refuse_transfers(world):
    assert world.admin.name() == "fedchain contribution credit"
    assert world.admin.symbol() == "FCC"
    assert world.admin.decimals() == 0
    assert world.admin.total_supply() == 0
    assert world.admin.balance_of(world.hospitals[0].account.address) == 0
    with pytest.raises(ContractReverted) as err:
        world.hospitals[0].transfer(world.miners[0].account.address, 1)
    assert err.value.error_name == "NonTransferable"
