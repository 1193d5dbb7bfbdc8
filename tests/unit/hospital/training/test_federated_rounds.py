import pytest
import torch

from hospital.models import build_model
from hospital.training import (
    FederationConfig,
    PlaintextCodec,
    QuantisedCodec,
    ServerOptConfig,
    ServerOptimizer,
    ServerRule,
    TrainConfig,
    aggregate,
    apply_global_update,
    evaluate,
    flatten,
    parameter_count,
    round_update,
    train_federated,
)


@pytest.fixture
def hospitals(make_data):
    return [make_data(60, 1), make_data(30, 2), make_data(90, 3)]


CONFIG = FederationConfig(rounds=8, local=TrainConfig(epochs=1, batch_size=8, lr=0.1))


def test_federation_is_reproducible_from_its_seed(spec, hospitals) -> None:
    a = train_federated(spec, 0, hospitals, CONFIG, PlaintextCodec())
    b = train_federated(spec, 0, hospitals, CONFIG, PlaintextCodec())
    assert torch.equal(flatten(a), flatten(b))


def test_federated_model_learns_the_shared_task(spec, make_data, hospitals) -> None:
    model = train_federated(spec, 0, hospitals, CONFIG, PlaintextCodec())
    assert evaluate(model, make_data(200, 50)).accuracy > 0.85


def test_every_hospital_applying_the_same_aggregate_holds_the_same_model(spec, hospitals) -> None:
    server = ServerOptConfig(rule=ServerRule.FEDADAM, lr=0.05)
    start = build_model(spec, 0)
    updates = [round_update(start, d, CONFIG.local, 0, k) for k, d in enumerate(hospitals)]
    mean = aggregate(updates, PlaintextCodec())
    replicas = [build_model(spec, 0) for _ in hospitals]
    for replica in replicas:
        apply_global_update(replica, ServerOptimizer(server, parameter_count(replica)), mean)
    assert all(torch.equal(flatten(r), flatten(replicas[0])) for r in replicas)


def test_16_bit_quantised_federation_stays_close_to_plaintext(spec, make_data, hospitals) -> None:
    exact = train_federated(spec, 0, hospitals, CONFIG, PlaintextCodec())
    quantised = train_federated(spec, 0, hospitals, CONFIG, QuantisedCodec(clip=1.0, bits=16))
    assert float((flatten(exact) - flatten(quantised)).abs().max()) < 1e-2
    test = make_data(200, 50)
    assert abs(evaluate(exact, test).accuracy - evaluate(quantised, test).accuracy) <= 0.02


def test_on_round_sees_each_new_global_model_once(spec, hospitals) -> None:
    seen: list[tuple[int, torch.Tensor]] = []
    final = train_federated(
        spec,
        0,
        hospitals,
        CONFIG,
        PlaintextCodec(),
        on_round=lambda r, m: seen.append((r, flatten(m))),
    )
    assert [r for r, _ in seen] == list(range(1, CONFIG.rounds + 1))
    assert torch.equal(seen[-1][1], flatten(final))
    assert not torch.equal(seen[0][1], seen[-1][1])
