import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.crypto import (
    MalformedBlob,
    ObfuscatorPool,
    PackingOutOfRange,
    PackingSpec,
    aggregate_updates,
    assign_ciphertexts,
    combine,
    encrypt_update,
    partial_decrypt,
    read_aggregate,
    read_update,
)
from node.crypto.paillier import encrypt_with


@settings(max_examples=12, deadline=None)
@given(
    value_bits=st.integers(3, 20),
    weights=st.lists(st.integers(1, 40), min_size=2, max_size=4),
    n_values=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
)
def test_encrypted_weighted_sum_decrypts_within_the_error_bound(
    two_of_three, value_bits, weights, n_values, seed
) -> None:
    pk = two_of_three.public_key
    spec = PackingSpec(value_bits=value_bits, clip=0.25, max_updates=4, max_total_weight=160)
    rng = np.random.default_rng(seed)
    updates = [rng.uniform(-0.25, 0.25, n_values) for _ in weights]
    blobs = [encrypt_update(pk, spec, u, weight=w) for u, w in zip(updates, weights, strict=True)]

    aggregate = aggregate_updates(pk, blobs)
    partials = [partial_decrypt(pk, two_of_three.shares[i], aggregate) for i in (1, 3)]
    result = combine(pk, aggregate, partials)

    exact = sum(w * u for w, u in zip(weights, updates, strict=True))
    assert result.total_weight == sum(weights)
    assert np.max(np.abs(result.weighted_sum - exact)) <= result.error_bound * (1 + 1e-9)
    assert np.max(np.abs(result.mean - exact / sum(weights))) <= spec.scale / 2 * (1 + 1e-9)


def test_encryption_is_phe_raw_encrypt_with_the_same_obfuscator(two_of_three) -> None:
    pk = two_of_three.public_key
    phe_key = pk.phe()
    r = 987654321

    ours = encrypt_with(pk.n, [31337], [pow(r, pk.n, pk.nsquare)])

    assert ours == [phe_key.raw_encrypt(31337, r_value=r)]


def test_precomputed_obfuscators_are_used_once_each(two_of_three) -> None:
    pk = two_of_three.public_key
    spec = PackingSpec(value_bits=8, max_updates=2, max_total_weight=2)
    pool = ObfuscatorPool(pk.n)
    pool.fill(6)
    values = np.linspace(-1, 1, 300)  # 3 ciphertexts at this key size

    first = encrypt_update(pk, spec, values, weight=1, pool=pool)
    second = encrypt_update(pk, spec, values, weight=1, pool=pool)
    third = encrypt_update(pk, spec, values, weight=1, pool=pool)  # pool empty: computed fresh

    assert len(pool) == 0
    c1, c2, c3 = (read_update(b, pk).ciphertexts for b in (first, second, third))
    assert len(set(c1) | set(c2) | set(c3)) == 9
    result = combine(
        pk,
        aggregate_updates(pk, [first, second]),
        [
            partial_decrypt(pk, two_of_three.shares[i], aggregate_updates(pk, [first, second]))
            for i in (1, 2)
        ],
    )
    assert np.max(np.abs(result.mean - values)) <= spec.scale / 2 * (1 + 1e-9)


def test_pool_of_another_key_is_refused(two_of_three, three_of_five) -> None:
    with pytest.raises(MalformedBlob, match="another key"):
        encrypt_update(
            two_of_three.public_key,
            PackingSpec(),
            np.zeros(3),
            weight=1,
            pool=ObfuscatorPool(three_of_five.public_key.n),
        )


def test_update_outside_the_clip_is_refused_before_any_encryption(two_of_three) -> None:
    with pytest.raises(PackingOutOfRange, match=r"values\[1\]"):
        encrypt_update(
            two_of_three.public_key, PackingSpec(clip=1.0), np.array([0.0, 2.0]), weight=1
        )


def test_weight_above_the_spec_is_refused_by_the_hospital(two_of_three) -> None:
    with pytest.raises(MalformedBlob, match="weight"):
        encrypt_update(
            two_of_three.public_key, PackingSpec(max_total_weight=8), np.zeros(3), weight=9
        )


def test_aggregate_refuses_total_weight_beyond_the_spec(two_of_three) -> None:
    pk = two_of_three.public_key
    spec = PackingSpec(value_bits=8, max_updates=3, max_total_weight=4)
    blobs = [encrypt_update(pk, spec, np.zeros(10), weight=w) for w in (2, 3)]

    with pytest.raises(PackingOutOfRange, match="total weight 5"):
        aggregate_updates(pk, blobs)


def test_aggregate_refuses_mixed_specs_and_repeated_updates(two_of_three) -> None:
    pk = two_of_three.public_key
    a = encrypt_update(pk, PackingSpec(value_bits=8), np.zeros(10), weight=1)
    b = encrypt_update(pk, PackingSpec(value_bits=9), np.zeros(10), weight=1)

    with pytest.raises(MalformedBlob, match=r"updates\[1\]"):
        aggregate_updates(pk, [a, b])
    with pytest.raises(MalformedBlob, match="twice"):
        aggregate_updates(pk, [a, a])


def test_miners_summing_the_same_updates_get_the_same_aggregate_id(two_of_three) -> None:
    pk = two_of_three.public_key
    spec = PackingSpec(value_bits=8, max_updates=3, max_total_weight=3)
    blobs = [encrypt_update(pk, spec, np.full(20, k / 10), weight=1) for k in range(3)]

    assert aggregate_updates(pk, blobs) == aggregate_updates(pk, blobs[::-1])


@pytest.mark.slow
def test_full_size_round_at_2048_bits_with_spread_partials(consortium_factory) -> None:
    consortium = consortium_factory(miners=3, threshold=2, n_bits=2048)
    pk = consortium.public_key
    spec = PackingSpec(value_bits=8, clip=0.05, max_updates=3, max_total_weight=3)
    rng = np.random.default_rng(2048)
    updates = [rng.uniform(-0.05, 0.05, 3000) for _ in range(3)]
    blobs = [
        encrypt_update(pk, spec, u, weight=1, context=f"hospital {k}".encode())
        for k, u in enumerate(updates)
    ]

    aggregate = aggregate_updates(pk, blobs)
    n_ciphertexts = len(read_aggregate(aggregate, pk).ciphertexts)
    plan = assign_ciphertexts(n_ciphertexts, [1, 2, 3], 2)
    partials = [
        partial_decrypt(pk, consortium.shares[i], aggregate, indices=js) for i, js in plan.items()
    ]
    result = combine(pk, aggregate, partials)

    assert pk.n_bits == 2048 and n_ciphertexts == 15  # 204 ten-bit slots per plaintext
    assert np.max(np.abs(result.weighted_sum - sum(updates))) <= result.error_bound * (1 + 1e-9)
