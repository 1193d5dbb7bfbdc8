"""The encrypted aggregation path gives the plaintext global model within its stated error."""

import pytest
import torch

from hospital.training import LocalUpdate, PlaintextCodec, aggregate
from hospital.training.federation import FederationConfig, train_federated
from hospital.training.local import TrainConfig
from hospital.training.paillier_codec import PaillierCodec
from hospital.training.server_opt import ServerOptConfig, ServerRule
from node.crypto import PackingSpec, new_consortium_key
from node.errors import ValidationFailed

SPEC = PackingSpec(value_bits=12, clip=1.0, max_updates=4, max_total_weight=512)


@pytest.fixture(scope="module")
def consortium():
    return new_consortium_key(miners=3, threshold=2, n_bits=1024)


def _updates(n_params: int, counts: list[int]) -> list[LocalUpdate]:
    g = torch.Generator().manual_seed(5)
    return [
        LocalUpdate(delta=(torch.rand(n_params, generator=g) - 0.5) * 1.6, n_samples=n)
        for n in counts
    ]


def test_one_round_mean_update_is_within_the_packing_error_bound(consortium):
    pk, shares = consortium
    codec = PaillierCodec(pk, shares[:2], SPEC)
    updates = _updates(300, [120, 40, 75])
    encrypted = aggregate(updates, codec)
    exact = aggregate(updates, PlaintextCodec())
    assert encrypted.shape == exact.shape
    assert float((encrypted - exact).abs().max()) <= SPEC.scale / 2 + 1e-7
    assert codec.cost.updates == 3 and codec.cost.rounds == 1
    # a packed update is far smaller than 300 ciphertexts of 256 bytes each
    assert codec.cost.update_bytes / 3 < 300 * 256 / 10


def test_any_t_of_the_miners_decrypt(consortium):
    pk, shares = consortium
    updates = _updates(50, [10, 20])
    exact = aggregate(updates, PlaintextCodec())
    for pair in ([0, 1], [0, 2], [1, 2], [0, 1, 2]):
        codec = PaillierCodec(pk, [shares[i] for i in pair], SPEC)
        assert float((aggregate(updates, codec) - exact).abs().max()) <= SPEC.scale / 2 + 1e-7


def test_fewer_than_t_shares_are_refused(consortium):
    pk, shares = consortium
    with pytest.raises(ValidationFailed) as err:
        PaillierCodec(pk, shares[:1], SPEC)
    assert err.value.field == "share_blobs"


def test_encrypted_federation_matches_the_plaintext_one(consortium, spec, make_data):
    pk, shares = consortium
    hospitals = [make_data(60, 1), make_data(25, 2, shift=0.3), make_data(40, 3)]
    config = FederationConfig(
        rounds=3,
        local=TrainConfig(steps=10, batch_size=8, lr=0.05, seed=0),
        server=ServerOptConfig(rule=ServerRule.FEDAVG),
    )
    plain = train_federated(spec, 0, hospitals, config, PlaintextCodec())
    encrypted = train_federated(spec, 0, hospitals, config, PaillierCodec(pk, shares, SPEC))
    for a, b in zip(plain.parameters(), encrypted.parameters(), strict=True):
        # 3 rounds, each mean update within scale/2 = 2.4e-4; training amplifies it a little
        assert torch.allclose(a, b, atol=5e-3)
