import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.crypto import PackingOutOfRange, PackingSpec
from node.crypto.packing import check_weights, decode_weighted_sum, pack, quantise, unpack

N_BITS = 2048


@st.composite
def specs(draw: st.DrawFn) -> PackingSpec:
    max_updates = draw(st.integers(1, 8))
    return PackingSpec(
        value_bits=draw(st.integers(2, 16)),
        clip=draw(st.floats(1e-4, 1e3)),
        max_updates=max_updates,
        max_total_weight=draw(st.integers(max_updates, 4096)),
    )


@st.composite
def weighted_updates(draw: st.DrawFn) -> tuple[PackingSpec, list[int], list[np.ndarray]]:
    spec = draw(specs())
    k = draw(st.integers(1, spec.max_updates))
    weights = [1] * k
    for _ in range(draw(st.integers(0, spec.max_total_weight - k))):  # spread extra weight
        weights[draw(st.integers(0, k - 1))] += 1
    size = draw(st.integers(1, 600))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    updates = [rng.uniform(-spec.clip, spec.clip, size) for _ in range(k)]
    if draw(st.booleans()):  # hit the extremes of the clip range exactly
        for u in updates:
            u[::2] = spec.clip
            u[1::2] = -spec.clip
    return spec, weights, updates


@settings(max_examples=150, deadline=None)
@given(spec=specs(), size=st.integers(1, 2000), seed=st.integers(0, 2**32 - 1))
def test_pack_then_unpack_returns_the_levels(spec: PackingSpec, size: int, seed: int) -> None:
    levels = np.random.default_rng(seed).integers(0, spec.max_level + 1, size).astype(np.uint64)

    plaintexts = pack(levels, spec, N_BITS)

    assert len(plaintexts) == spec.ciphertext_count(size, N_BITS)
    assert np.array_equal(unpack(plaintexts, spec, N_BITS, size), levels)


@settings(max_examples=150, deadline=None)
@given(case=weighted_updates())
def test_weighted_sum_of_packed_plaintexts_never_overflows_a_slot(case) -> None:
    spec, weights, updates = case
    levels = [quantise(u, spec) for u in updates]

    # What the homomorphic weighted product decrypts to: Σ w_k · packed_k as integers.
    total = [
        sum(w * p for w, p in zip(weights, col, strict=True))
        for col in zip(*(pack(lv, spec, N_BITS) for lv in levels), strict=True)
    ]

    assert all(t < 2 ** (N_BITS - 1) for t in total)  # below n for any 2048-bit n
    expected = sum(w * lv.astype(object) for w, lv in zip(weights, levels, strict=True))
    assert np.array_equal(unpack(total, spec, N_BITS, len(updates[0])).astype(object), expected)


@settings(max_examples=150, deadline=None)
@given(case=weighted_updates())
def test_decoded_weighted_sum_is_within_the_documented_error_bound(case) -> None:
    spec, weights, updates = case
    total_weight = sum(weights)
    sums = sum(w * quantise(u, spec) for w, u in zip(weights, updates, strict=True))

    decoded = decode_weighted_sum(sums, spec, total_weight)

    exact = sum(w * u for w, u in zip(weights, updates, strict=True))
    bound = spec.sum_error_bound(total_weight)
    assert np.max(np.abs(decoded - exact)) <= bound * (1 + 1e-9) + 1e-12 * spec.clip


@given(spec=specs())
def test_slot_width_is_the_smallest_that_holds_the_worst_weighted_sum(spec: PackingSpec) -> None:
    worst = spec.max_total_weight * spec.max_level

    assert worst < 2**spec.slot_bits
    assert worst >= 2 ** (spec.slot_bits - 1)


def test_zero_is_encoded_exactly() -> None:
    spec = PackingSpec(value_bits=8, clip=0.5, max_updates=3, max_total_weight=3)

    levels = quantise(np.zeros(5), spec)

    assert np.all(decode_weighted_sum(levels, spec, 1) == 0.0)


def test_value_outside_the_clip_is_refused_naming_its_index() -> None:
    spec = PackingSpec(value_bits=8, clip=1.0)

    with pytest.raises(PackingOutOfRange, match=r"values\[2\]") as info:
        quantise(np.array([0.0, 0.5, 1.5, -3.0]), spec)

    assert info.value.field == "values[2]"
    assert "2 values" in info.value.message


def test_clipping_out_of_range_values_is_explicit() -> None:
    spec = PackingSpec(value_bits=8, clip=1.0)

    levels = quantise(np.array([1.5, -3.0]), spec, clip_out_of_range=True)

    assert list(levels) == [spec.max_level, 0]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_values_are_refused_even_when_clipping(bad: float) -> None:
    with pytest.raises(PackingOutOfRange, match="values\\[1\\]"):
        quantise(np.array([0.0, bad]), PackingSpec(), clip_out_of_range=True)


def test_weights_beyond_the_spec_are_refused() -> None:
    spec = PackingSpec(value_bits=8, max_updates=3, max_total_weight=6)

    check_weights([1, 2, 3], spec)
    with pytest.raises(PackingOutOfRange, match="max_total_weight"):
        check_weights([1, 2, 4], spec)
    with pytest.raises(PackingOutOfRange, match="updates"):
        check_weights([1, 1, 1, 1], spec)
    with pytest.raises(PackingOutOfRange, match="weights\\[0\\]"):
        check_weights([0, 1], spec)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"value_bits": 1}, "value_bits"),
        ({"clip": 0.0}, "clip"),
        ({"clip": float("nan")}, "clip"),
        ({"max_updates": 5, "max_total_weight": 4}, "max_updates"),
        ({"value_bits": 32, "max_total_weight": 2**31}, "max_total_weight"),
    ],
)
def test_inconsistent_specs_are_refused(kwargs: dict, field: str) -> None:
    with pytest.raises(PackingOutOfRange) as info:
        PackingSpec(**kwargs)

    assert info.value.field == field


def test_a_plaintext_wider_than_its_slots_is_refused_on_unpack() -> None:
    spec = PackingSpec(value_bits=8)
    used = spec.slots_per_plaintext(N_BITS) * spec.slot_bits

    with pytest.raises(PackingOutOfRange, match="overflowed"):
        unpack([1 << used], spec, N_BITS, 1)
