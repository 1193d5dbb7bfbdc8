"""A failed hold-out does not wait for its packer: another miner rejects, the next round goes on."""

from __future__ import annotations

from node.chain.models import RoundStatus


def test_packer_stopped_after_a_failed_holdout_another_miner_rejects_and_the_next_round_runs(
    make_federation,
):
    fed = make_federation()
    fed.open_round(1)
    fed.drive(lambda: fed.status(1) == RoundStatus.SEALED)
    sealed = fed.world.admin.model_hash().removeprefix("0x")

    fed.hospitals[2].train = fed.task.trainer(70, scale=-8.0, seed=2)  # poisons round 2
    fed.open_round(2)
    fed.drive(lambda: fed.status(2) == RoundStatus.COMMITTED)
    packer = fed.world.admin.round(2).packer
    fed.down = {packer}  # the packer dies right after its commit
    fed.drive(lambda: fed.status(2) == RoundStatus.REJECTED)

    (rejected,) = fed.world.admin.events(names={"RoundRejected"})
    assert rejected.reason == "HOLDOUT_WORSE"
    assert rejected.by != fed.world.miners[packer].account.address
    reports = fed.world.admin.events(names={"HoldoutReported"})
    assert sum(r.worse for r in reports if r.round == 2) >= 2
    assert fed.world.admin.model_hash().removeprefix("0x") == sealed

    fed.hospitals[2].train = fed.task.trainer(70, seed=2)  # the poisoner behaves again
    fed.down = set()
    fed.open_round(3)  # from round 1's model, the last sealed one
    assert fed.world.admin.round(3).prev_model_hash == "0x" + sealed
    fed.drive(lambda: fed.status(3) == RoundStatus.SEALED)
    fed.drive(lambda: all(h.applied_round == 3 for h in fed.hospitals))
    assert all(h.model is not None and h.model.round == 2 for h in fed.hospitals)  # 2 seals
    # a hospital without its own candidate fetches the sealed model and checks its lineage
    late = fed.hospitals[0]
    late._candidates.pop(3)
    late.applied_round = 2
    late.tick()
    assert late.applied_round == 3 and late.model is not None
    assert late.model.weights.tobytes() == fed.hospitals[1].model.weights.tobytes()


def test_a_committed_round_that_cannot_decrypt_is_rejected_by_the_rotation(make_federation):
    fed = make_federation()
    designated = fed.world.admin.proposer_at(1, 0)
    packer = next(k for k, m in enumerate(fed.world.miners) if m.account.address == designated)
    survivor, third = (packer + 1) % 3, (packer + 2) % 3
    fed.down = {third}  # never posts a partial
    fed.open_round(1)
    fed.drive(lambda: fed.status(1) == RoundStatus.COMMITTED)
    fed.down = {packer, third}  # the packer dies after its commit: t = 2, one miner is left
    fed.tick(hospitals=False)
    assert fed.status(1) == RoundStatus.COMMITTED  # it waits while the others may come back
    fed.world.advance(5 * fed.world.timeout)  # two timeouts, then every miner's turn
    fed.drive(lambda: fed.status(1) == RoundStatus.REJECTED, hospitals=False)
    (rejected,) = fed.world.admin.events(names={"RoundRejected"})
    assert rejected.reason.startswith("STALLED")
    assert rejected.by == fed.world.miners[survivor].account.address
