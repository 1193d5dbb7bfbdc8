import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hospital.training import LocalUpdate, PlaintextCodec, QuantisedCodec, aggregate
from node.errors import ValidationFailed


def _updates(seed: int, sizes: list[int], dim: int = 100, scale: float = 0.05) -> list[LocalUpdate]:
    g = torch.Generator().manual_seed(seed)
    return [LocalUpdate(torch.randn(dim, generator=g) * scale, n) for n in sizes]


def test_plaintext_aggregate_is_the_sample_weighted_mean() -> None:
    updates = [LocalUpdate(torch.tensor([1.0, 0.0]), 1), LocalUpdate(torch.tensor([0.0, 4.0]), 3)]
    assert aggregate(updates, PlaintextCodec()).tolist() == pytest.approx([0.25, 3.0])


def test_plaintext_aggregate_equals_weighted_mean_of_many_updates() -> None:
    updates = _updates(0, [199, 172, 30, 85])
    expected = sum(u.delta.double() * u.n_samples for u in updates) / 486
    assert torch.allclose(aggregate(updates, PlaintextCodec()).double(), expected, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    bits=st.integers(8, 32),
    sizes=st.lists(st.integers(1, 500), min_size=1, max_size=6),
)
def test_quantised_aggregate_is_within_its_stated_error_of_plaintext(seed, bits, sizes) -> None:
    updates = _updates(seed, sizes, dim=64, scale=0.1)
    codec = QuantisedCodec(clip=1.0, bits=bits)  # |Δ| <= 1 here, so nothing is clipped
    assert all(float(u.delta.abs().max()) <= 1.0 for u in updates)
    exact = aggregate(updates, PlaintextCodec())
    quantised = aggregate(updates, codec)
    # float32 output rounding adds at most one ulp of the value (~6e-8 at |Δ| <= 1)
    assert float((quantised - exact).abs().max()) <= codec.max_error + 1e-7


def test_stated_error_is_attained_in_order_of_magnitude_at_low_precision() -> None:
    updates = _updates(1, [10, 20, 30])
    codec = QuantisedCodec(clip=0.25, bits=8)
    err = float((aggregate(updates, codec) - aggregate(updates, PlaintextCodec())).abs().max())
    assert codec.max_error / 10 < err <= codec.max_error + 1e-7


def test_values_beyond_the_clip_are_clipped_before_averaging() -> None:
    updates = [LocalUpdate(torch.tensor([5.0, -5.0]), 1), LocalUpdate(torch.tensor([0.0, 0.0]), 1)]
    result = aggregate(updates, QuantisedCodec(clip=1.0, bits=16))
    assert result.tolist() == pytest.approx([0.5, -0.5], abs=QuantisedCodec(1.0, 16).max_error)


def test_quantised_payload_is_an_integer_vector_carrying_n_times_q() -> None:
    codec = QuantisedCodec(clip=1.0, bits=16)
    payload = codec.encode(LocalUpdate(torch.tensor([0.5, -1.0]), 3))
    assert payload.dtype == torch.int64
    assert payload.tolist() == [3 * round(0.5 * 32767), -3 * 32767]


def test_updates_of_different_lengths_are_refused() -> None:
    updates = [LocalUpdate(torch.zeros(2), 1), LocalUpdate(torch.zeros(3), 1)]
    with pytest.raises(ValidationFailed, match="different lengths"):
        aggregate(updates, PlaintextCodec())


@pytest.mark.parametrize(("clip", "bits", "field"), [(0.0, 16, "clip"), (1.0, 1, "bits")])
def test_bad_quantiser_settings_name_the_field(clip, bits, field) -> None:
    with pytest.raises(ValidationFailed) as err:
        QuantisedCodec(clip=clip, bits=bits)
    assert err.value.field == field
