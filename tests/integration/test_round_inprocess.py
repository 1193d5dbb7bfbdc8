"""Full encrypted rounds on a real anvil with three in-process miners and hospitals."""

from __future__ import annotations

from node.chain.holdout import quality_ppm, tally_of
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
    events = fed.world.admin.events()
    reports = [e for e in events if e.event == "HoldoutReported"]
    q = quality_factor(reports, sealed)
    assert 1.0 < q <= 2.0  # the round improved every hold-out metric
    q_ppm = quality_ppm(tally_of(reports, sealed))
    paid = {
        h.account.address: n * q_ppm // 1_000_000  # rate 1, nobody aligned: u = 1
        for h, n in zip(fed.world.hospitals, (30, 50, 70), strict=True)
    }
    for address, amount in paid.items():
        assert fed.world.admin.balance_of(address) == amount
    assert all(fed.world.admin.balance_of(m.account.address) > 0 for m in fed.world.miners)
    assert hospital_settlement(events)[1] == paid
    assert credits_from_events(events)[1] == {
        **paid,
        **{
            m.account.address: fed.world.admin.balance_of(m.account.address)
            for m in fed.world.miners
        },
    }
