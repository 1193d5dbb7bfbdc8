"""Full encrypted rounds on a real anvil with three in-process miners and hospitals."""

from __future__ import annotations

from node.chain.models import RoundStatus


def test_honest_round_seals_and_pays(make_federation):
    fed = make_federation()
    fed.open_round(1)
    fed.drive(lambda: fed.status(1) == RoundStatus.SEALED)
    fed.drive(lambda: all(h.model is not None for h in fed.hospitals))
    sealed = fed.world.admin.model_hash()
    assert all(h.model is not None and h.model.round == 1 for h in fed.hospitals)
    before = fed.task.evaluate(fed.hospitals[0].global_model(fed.genesis_hash).weights)
    after = fed.task.evaluate(fed.hospitals[0].model.weights)
    assert after > before
    assert sealed.removeprefix("0x") != fed.genesis_hash
    for k, h in enumerate(fed.world.hospitals):
        assert fed.world.admin.balance_of(h.account.address) == (30, 50, 70)[k]
    assert all(fed.world.admin.balance_of(m.account.address) > 0 for m in fed.world.miners)
