import itertools

import numpy as np
import pytest

from node.crypto import (
    InvalidPartialDecryption,
    NotEnoughShares,
    PackingSpec,
    aggregate_updates,
    assign_ciphertexts,
    combine,
    encrypt_update,
    partial_decrypt,
    read_aggregate,
    verify_partial,
)
from node.crypto.codec import decode_partial, encode_partial
from node.crypto.paillier import fresh_obfuscators
from node.crypto.threshold import (
    EqualityProof,
    combine_partials,
    lagrange_at_zero,
    partial_decryptions,
    verify_partial_decryptions,
)

SPEC = PackingSpec(value_bits=8, clip=1.0, max_updates=3, max_total_weight=6)


def _round(consortium, rng, n_values=300, weights=(1, 2, 3)):
    pk = consortium.public_key
    updates = [rng.uniform(-1, 1, n_values) for _ in weights]
    blobs = [encrypt_update(pk, SPEC, u, weight=w) for u, w in zip(updates, weights, strict=True)]
    exact = sum(w * u for w, u in zip(weights, updates, strict=True))
    return aggregate_updates(pk, blobs), exact


def test_every_t_subset_of_shares_decrypts_phe_ciphertexts_exactly(three_of_five) -> None:
    pk = three_of_five.public_key
    phe_key = pk.phe()
    messages = [0, 1, 42, pk.n // 3, pk.n - 1]
    ciphertexts = [phe_key.raw_encrypt(m) for m in messages]
    partials = {
        i: partial_decryptions(pk, i, s.secret, ciphertexts, context=b"t")[0]
        for i, s in three_of_five.shares.items()
    }

    for subset in itertools.combinations(range(1, 6), 3):
        got = [
            combine_partials(pk, {i: partials[i][j] for i in subset}) for j in range(len(messages))
        ]
        assert got == messages, subset


def test_every_t_subset_of_miners_recovers_the_weighted_sum(three_of_five) -> None:
    pk = three_of_five.public_key
    aggregate, exact = _round(three_of_five, np.random.default_rng(1))
    partials = {i: partial_decrypt(pk, s, aggregate) for i, s in three_of_five.shares.items()}

    for subset in itertools.combinations(range(1, 6), 3):
        result = combine(pk, aggregate, [partials[i] for i in subset])

        assert result.rejected == {}
        assert np.max(np.abs(result.weighted_sum - exact)) <= result.error_bound * (1 + 1e-9)


def test_t_minus_one_partials_cannot_decrypt(three_of_five) -> None:
    pk = three_of_five.public_key
    aggregate, _ = _round(three_of_five, np.random.default_rng(2))
    partials = [partial_decrypt(pk, three_of_five.shares[i], aggregate) for i in (2, 5)]

    with pytest.raises(NotEnoughShares, match="fewer than 3 valid"):
        combine(pk, aggregate, partials)


def test_t_minus_one_partials_combined_as_if_enough_give_garbage(two_of_three) -> None:
    pk = two_of_three.public_key
    ciphertext = pk.phe().raw_encrypt(123456789)
    partial, _ = partial_decryptions(
        pk, 1, two_of_three.shares[1].secret, [ciphertext], context=b""
    )
    one_of_three = type(pk)(pk.n, 1, pk.miners, pk.v, pk.verification_keys)  # pretend t = 1

    assert combine_partials(one_of_three, {1: partial[0]}) != 123456789


def test_tampered_partial_is_rejected_naming_its_share_and_the_rest_still_decrypt(
    three_of_five,
) -> None:
    pk = three_of_five.public_key
    aggregate, exact = _round(three_of_five, np.random.default_rng(3))
    honest = {i: partial_decrypt(pk, s, aggregate) for i, s in three_of_five.shares.items()}
    bad = decode_partial(honest[4], pk)
    forged_values = list(bad.partials)
    forged_values[-1] = forged_values[-1] * pk.phe().raw_encrypt(1, 1) % pk.nsquare  # adds 1
    forged = encode_partial(
        type(bad)(
            bad.public_key_id, bad.aggregate_id, 4, bad.indices, tuple(forged_values), bad.proof
        ),
        pk,
    )

    with pytest.raises(InvalidPartialDecryption) as info:
        verify_partial(pk, aggregate, forged)
    assert info.value.share_index == 4

    result = combine(pk, aggregate, [forged, honest[1], honest[2], honest[5]])
    assert list(result.rejected) == [4]
    assert np.max(np.abs(result.weighted_sum - exact)) <= result.error_bound * (1 + 1e-9)


@pytest.mark.parametrize("field", ["challenge", "response"])
def test_tampered_proof_is_rejected_naming_its_share(two_of_three, field: str) -> None:
    pk = two_of_three.public_key
    aggregate, _ = _round(two_of_three, np.random.default_rng(4))
    good = decode_partial(partial_decrypt(pk, two_of_three.shares[3], aggregate), pk)
    proof = EqualityProof(
        challenge=good.proof.challenge ^ (field == "challenge"),
        response=good.proof.response + (field == "response"),
    )
    forged = encode_partial(
        type(good)(good.public_key_id, good.aggregate_id, 3, good.indices, good.partials, proof), pk
    )

    with pytest.raises(InvalidPartialDecryption, match="share 3") as info:
        verify_partial(pk, aggregate, forged)
    assert info.value.share_index == 3


def test_partial_made_with_another_share_index_is_rejected(two_of_three) -> None:
    pk = two_of_three.public_key
    aggregate, _ = _round(two_of_three, np.random.default_rng(5))
    by_two = decode_partial(partial_decrypt(pk, two_of_three.shares[2], aggregate), pk)
    claimed_as_one = encode_partial(
        type(by_two)(
            by_two.public_key_id,
            by_two.aggregate_id,
            1,
            by_two.indices,
            by_two.partials,
            by_two.proof,
        ),
        pk,
    )

    with pytest.raises(InvalidPartialDecryption) as info:
        verify_partial(pk, aggregate, claimed_as_one)
    assert info.value.share_index == 1


def test_partial_for_another_aggregate_is_rejected(two_of_three) -> None:
    pk = two_of_three.public_key
    first, _ = _round(two_of_three, np.random.default_rng(6))
    second, _ = _round(two_of_three, np.random.default_rng(7))
    partial = partial_decrypt(pk, two_of_three.shares[1], first)

    with pytest.raises(InvalidPartialDecryption, match="another aggregate"):
        verify_partial(pk, second, partial)


def test_batched_proof_catches_a_wrong_value_anywhere_in_the_batch(two_of_three) -> None:
    pk = two_of_three.public_key
    ciphertexts = [pk.phe().raw_encrypt(m) for m in range(40)]
    partials, proof = partial_decryptions(
        pk, 2, two_of_three.shares[2].secret, ciphertexts, context=b"batch"
    )
    assert verify_partial_decryptions(pk, 2, ciphertexts, partials, proof, context=b"batch")

    for j in (0, 17, 39):
        for forged in (pk.nsquare - partials[j], partials[j] * partials[j] % pk.nsquare):
            wrong = list(partials)
            wrong[j] = forged  # even -c_ij, which squaring would hide, changes the hash
            assert not verify_partial_decryptions(
                pk, 2, ciphertexts, wrong, proof, context=b"batch"
            )
    assert not verify_partial_decryptions(pk, 2, ciphertexts, partials, proof, context=b"other")


def test_work_spread_gives_each_ciphertext_exactly_t_miners() -> None:
    plan = assign_ciphertexts(10, [1, 2, 3, 4, 5], 3)

    for j in range(10):
        assert sum(j in js for js in plan.values()) == 3
    assert max(map(len, plan.values())) - min(map(len, plan.values())) <= 1


def test_spread_partials_from_t_of_m_miners_combine(three_of_five) -> None:
    pk = three_of_five.public_key
    aggregate, exact = _round(three_of_five, np.random.default_rng(8), n_values=1000)
    n_ciphertexts = len(read_aggregate(aggregate, pk).ciphertexts)
    plan = assign_ciphertexts(n_ciphertexts, [1, 3, 4, 5], 3)  # miner 2 is offline

    partials = [
        partial_decrypt(pk, three_of_five.shares[i], aggregate, indices=js)
        for i, js in plan.items()
    ]
    result = combine(pk, aggregate, partials)

    assert np.max(np.abs(result.weighted_sum - exact)) <= result.error_bound * (1 + 1e-9)


def test_a_second_partial_from_the_same_share_does_not_count_twice(two_of_three) -> None:
    pk = two_of_three.public_key
    aggregate, _ = _round(two_of_three, np.random.default_rng(9))
    partial = partial_decrypt(pk, two_of_three.shares[1], aggregate)

    with pytest.raises(NotEnoughShares):
        combine(pk, aggregate, [partial, partial_decrypt(pk, two_of_three.shares[1], aggregate)])


def test_lagrange_coefficients_at_zero_are_integers_that_interpolate() -> None:
    delta = 120  # 5!
    for subset in itertools.combinations(range(1, 6), 3):
        lambdas = lagrange_at_zero(subset, delta)
        # f(x) = 7 + 3x + 2x^2 interpolated at 0, scaled by Δ
        values = [7 + 3 * i + 2 * i * i for i in subset]
        assert sum(lam * f for lam, f in zip(lambdas, values, strict=True)) == delta * 7


def test_fresh_obfuscators_are_distinct(two_of_three) -> None:
    obfuscators = fresh_obfuscators(two_of_three.public_key.n, 50)

    assert len(set(obfuscators)) == 50


def test_work_cannot_be_spread_over_fewer_than_t_miners() -> None:
    with pytest.raises(NotEnoughShares, match="needs 3"):
        assign_ciphertexts(10, [1, 2], 3)
