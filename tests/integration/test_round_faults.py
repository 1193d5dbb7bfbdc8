"""Rounds survive a killed miner, a silent proposer and a miner restart (in-process nodes)."""

from __future__ import annotations

from miner.duties import MinerNode
from node.chain.ledgerview import Phase
from node.chain.models import RoundStatus


def test_round_seals_with_t_of_m_after_a_miner_is_killed_mid_round(make_federation):
    fed = make_federation()
    fed.open_round(1)
    fed.drive(lambda: fed.status(1) == RoundStatus.COMMITTED, hospitals=True)
    packer = fed.world.admin.round(1).packer
    victim = next(k for k in range(3) if k != packer)
    fed.down = {victim}  # killed after the commit: its partial decryption may never come
    fed.drive(lambda: fed.status(1) == RoundStatus.SEALED)
    partials = fed.world.admin.events(names={"PartialDecryptionSubmitted"})
    assert {e.miner for e in partials} >= {
        fed.world.miners[k].account.address for k in range(3) if k != victim
    }
    survivors = [h for k, h in enumerate(fed.hospitals) if k != victim]
    fed.drive(lambda: all(h.model is not None for h in survivors))
    assert survivors[0].model is not None
    assert survivors[0].model.weights.tobytes() == survivors[1].model.weights.tobytes()


def test_silent_proposer_is_skipped_and_the_next_miner_seals(make_federation):
    fed = make_federation()
    designated = fed.world.admin.proposer_at(1, 0)
    silent = next(k for k, m in enumerate(fed.world.miners) if m.account.address == designated)
    fed.down = fed.offline = {silent}
    fed.open_round(1, min_updates=2)
    fed.drive(lambda: fed.world.admin.round(1).ready_at != 0)
    fed.tick()
    assert fed.status(1) == RoundStatus.OPEN  # the next miner waits for the timeout
    fed.world.advance(fed.world.timeout + 1)
    fed.drive(lambda: fed.status(1) == RoundStatus.SEALED)
    (sealed,) = fed.world.admin.events(names={"RoundSealed"})
    assert sealed.packer == fed.world.admin.proposer_at(1, 1)
    assert fed.world.admin.balance_of(designated) == 0


def test_restarted_miner_catches_up_and_takes_its_duties_again(make_federation):
    fed = make_federation()
    fed.down = fed.offline = {0}
    fed.open_round(1, min_updates=2)
    fed.drive(lambda: fed.status(1) == RoundStatus.COMMITTED)
    old = fed.miners[0]
    restarted = MinerNode(
        ledger=old.ledger,
        store=old.store,
        peers=old.peers,
        public_key=old.public_key,
        share=old.share,
        partial_grace=0.3,
    )
    fed.miners[0] = restarted
    restarted.tick()  # one tick: it rebuilds its view from events and does its duties
    me = fed.world.miners[0].account.address
    r = restarted.view.rounds[1]
    assert restarted.view.current_round == 1 and r.phase is Phase.COMMITTED
    assert fed.world.admin.events(names={"AggregateAttested"})[-1].miner == me
    restarted.tick()
    assert me in restarted.view.rounds[1].partials
    fed.down = fed.offline = set()
    fed.drive(lambda: fed.status(1) == RoundStatus.SEALED)
    fed.open_round(2)  # all three pairs, the restarted miner included
    fed.drive(lambda: fed.status(2) == RoundStatus.SEALED)
    approvals = fed.world.admin.events(names={"UpdateApproved"})
    assert any(e.miner == me and e.update_id >> 16 == 2 for e in approvals)


def test_round_that_never_gets_ready_is_rejected_after_its_deadline(make_federation):
    fed = make_federation()
    fed.down = fed.offline = {1, 2}
    fed.open_round(1, min_updates=3, deadline_in=30)
    fed.drive(lambda: fed.world.admin.round(1).proposed == 1)
    fed.world.advance(31 + 2 * fed.world.timeout)  # past the deadline and everyone's turn
    fed.drive(lambda: fed.status(1) == RoundStatus.REJECTED)
    (rejected,) = fed.world.admin.events(names={"RoundRejected"})
    assert rejected.reason == "NOT_READY_BY_DEADLINE"
    assert fed.world.admin.total_supply() == 0
