"""Full encrypted rounds on a real anvil with three in-process miners and hospitals."""

from __future__ import annotations

from node.chain.models import RoundStatus
from node.chain.rewards import credits_from_events, hospital_settlement, quality_factor


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
    events = fed.world.admin.events()
    settled = hospital_settlement(events)[1]
    q = quality_factor(e for e in events if e.event == "HoldoutReported")
    assert 1.0 < q <= 2.0  # the round improved every hold-out metric
    counts = zip(fed.world.hospitals, (30, 50, 70), strict=True)
    assert settled == {h.account.address: n * q for h, n in counts}
    assert credits_from_events(events)[1] == {
        **{h.account.address: n for h, n in zip(fed.world.hospitals, (30, 50, 70), strict=True)},
        **{m.account.address: fed.world.admin.balance_of(m.account.address)
           for m in fed.world.miners},
    }
