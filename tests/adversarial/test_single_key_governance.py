"""The admin key alone, in a real network: what it may no longer do; and a removed miner.

After the first round the admin opens rounds and nothing else: membership, quorum and
settings need a quorum of miners (``voteChange``), the hold-out policy was fixed when the
ledger was deployed, and no admin call rejects a round. See docs/design.md, "Who may be
dishonest".
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.chain.client import Change
from node.chain.models import RoundStatus
from node.chain.tx import ContractReverted
from node.identity import devnet_account
from tests.adversarial.harness import Attackable, attackable_network


@pytest.fixture(scope="module")
def attackable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Attackable]:
    with attackable_network(tmp_path_factory.mktemp("net") / "net") as network:
        info = network.run_round()  # past genesis: the admin's direct powers are over
        assert info.status is RoundStatus.SEALED
        yield network


def _refused(call, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractReverted) as err:
        call()
    assert err.value.error_name == name, err.value


def test_the_admin_alone_cannot_set_a_quorum_of_one(attackable):
    a = attackable
    _refused(lambda: a.ledger.set_quorum(1), "GovernanceRequired")
    # nor could a quorum of miners: one is below a majority of three
    votes = [a.miner_client(k) for k in range(2)]
    votes[0].vote_change(Change.QUORUM, value=1)
    _refused(lambda: votes[1].vote_change(Change.QUORUM, value=1), "InvalidQuorum")
    assert a.ledger.quorum() == 2


def test_the_admin_alone_cannot_change_membership_or_settings(attackable):
    a = attackable
    outsider = devnet_account(9).address
    _refused(
        lambda: a.ledger.register_pair(outsider, devnet_account(19).address), "GovernanceRequired"
    )
    _refused(lambda: a.ledger.remove_pair(a.ledger.pairs()[0][0]), "GovernanceRequired")
    _refused(lambda: a.ledger.set_rates(10**6, 0, 0), "GovernanceRequired")
    _refused(lambda: a.ledger.set_proposer_timeout(1), "GovernanceRequired")
    _refused(lambda: a.ledger.transfer_admin(outsider), "GovernanceRequired")
    _refused(lambda: a.ledger.vote_change(Change.ADMIN, a=outsider), "NotMiner")
    # the hold-out gate was fixed at deployment: there is no call that changes it
    assert not [f for f in a.ledger.artifact.abi if f.get("name") == "setHoldoutPolicy"]
    assert a.ledger.holdout_policy() == (3, a.net.options.holdout_margin_ppm)


def test_the_admin_alone_cannot_reject_a_round(attackable):
    a = attackable
    plan = a.net.open_round()
    _refused(lambda: a.ledger.reject_round(plan.round_id, "the admin dislikes it"), "NotMiner")
    info = a.wait(plan.round_id)
    assert info.status is RoundStatus.SEALED


def test_a_removed_miner_is_skipped_without_a_timeout(attackable):
    """Pair 2 is voted out; a round the old rotation gave it is packed at once."""
    a = attackable
    removed = a.ledger.pairs()[2]
    for k in (0, 1):
        a.miner_client(k).vote_change(Change.REMOVE_PAIR, a=removed[0])
    assert a.ledger.active_indexes() == [0, 1]
    # find the next round the rotation over all three slots would have given pair 2
    current = a.ledger.current_round()
    while (current + 1) % 3 != 2:
        info = a.run_round(min_updates=2)
        assert info.status is RoundStatus.SEALED
        current = info.round
    assert a.ledger.proposer_at(current + 1, 0) != removed[1]
    info = a.run_round(min_updates=2)
    assert info.status is RoundStatus.SEALED
    assert info.committed_at - info.ready_at < a.net.options.proposer_timeout
    (committed,) = a.events("AggregateCommitted", info.round)
    assert committed.packer == a.ledger.proposer_at(info.round, 0) != removed[1]
