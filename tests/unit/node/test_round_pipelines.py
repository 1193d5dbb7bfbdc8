"""Plaintext FedAvg and the encrypted pipeline give the same global model within the bound."""

from __future__ import annotations

import numpy as np
import pytest

from node.crypto import (
    aggregate_updates,
    assign_ciphertexts,
    decode_key_share,
    decode_public_key,
    encrypt_update,
    new_consortium_key,
    partial_decrypt,
)
from node.crypto.codec import public_key_id
from node.fedopt import initial_model, server_step
from node.modelspec import ModelSpec, ServerOptimiser
from node.roundmath import (
    PublishedPartial,
    candidate_model,
    missing_ciphertexts,
    verified_only,
)


@pytest.fixture(scope="module")
def consortium():
    pub, shares = new_consortium_key(miners=3, threshold=2, n_bits=512)
    key = decode_public_key(pub)
    return key, [decode_key_share(s, key) for s in shares]


@pytest.mark.parametrize("opt", [ServerOptimiser.FEDAVG, ServerOptimiser.FEDADAM])
def test_encrypted_and_plaintext_rounds_agree_within_quantisation(consortium, opt):
    key, shares = consortium
    n = 300
    spec = ModelSpec(
        n_params=n,
        public_key_id=public_key_id(key).hex(),
        value_bits=16,
        clip=0.5,
        optimiser=opt,
        server_lr=0.01 if opt != "fedavg" else 1.0,
    )
    rng = np.random.default_rng(3)
    deltas = [rng.uniform(-0.5, 0.5, n) for _ in range(3)]
    counts = [40, 70, 25]
    start = initial_model(rng.normal(0, 1, n), spec, "")
    pairs = zip(deltas, counts, strict=True)
    plain_mean = sum(d * c for d, c in pairs) / sum(counts)
    plain = server_step(start, plain_mean, spec)

    blobs = [
        encrypt_update(key, spec.packing(), d, weight=c)
        for d, c in zip(deltas, counts, strict=True)
    ]
    agg = aggregate_updates(key, blobs)
    n_ct = spec.packing().ciphertext_count(n, key.n_bits)
    plan = assign_ciphertexts(n_ct, [1, 2, 3], 2)
    partials = [partial_decrypt(key, s, agg, indices=plan[s.index]) for s in shares]
    published = [PublishedPartial(s.index, p) for s, p in zip(shares, partials, strict=True)]
    verified, refused = verified_only(key, agg, published)
    assert refused == {} and missing_ciphertexts(key, agg, verified) == {}
    model, _, bound = candidate_model(key, agg, published, start, spec)

    # quantisation: each value within scale/2, so the weighted mean within scale/2 too
    assert bound == pytest.approx(spec.packing().scale / 2)
    if opt is ServerOptimiser.FEDAVG:
        assert np.max(np.abs(model.weights - plain.weights)) <= bound + 1e-6
    else:  # the adaptive step is Lipschitz in Δ only near zero; compare its input instead
        assert np.max(np.abs(model.m - plain.m)) <= (1 - spec.beta1) * bound + 1e-6


def test_two_of_three_partials_suffice_when_a_miner_is_silent(consortium):
    key, shares = consortium
    spec = ModelSpec(n_params=50, public_key_id=public_key_id(key).hex())
    update = encrypt_update(key, spec.packing(), np.full(50, 0.25), weight=3)
    agg = aggregate_updates(
        key, [update, encrypt_update(key, spec.packing(), np.full(50, 0.25), weight=2)]
    )
    n_ct = spec.packing().ciphertext_count(50, key.n_bits)
    plan = assign_ciphertexts(n_ct, [1, 2, 3], 2)
    posted = [
        PublishedPartial(s.index, partial_decrypt(key, s, agg, indices=plan[s.index]))
        for s in shares[:2]
    ]
    missing = missing_ciphertexts(key, agg, verified_only(key, agg, posted)[0])
    assert missing  # share 3's assigned ciphertexts are short by one
    cover = [
        PublishedPartial(
            s.index,
            partial_decrypt(
                key, s, agg, indices=sorted(j for j, c in missing.items() if s.index not in c)
            ),
        )
        for s in shares[:2]
        if any(s.index not in c for c in missing.values())
    ]
    model, _, bound = candidate_model(
        key, agg, posted + cover, initial_model(np.zeros(50), spec, ""), spec
    )
    assert np.max(np.abs(model.weights - 0.25)) <= bound + 1e-6


def test_a_bogus_partial_does_not_count_as_coverage_and_is_blamed_on_its_publisher(consortium):
    """Share 3 publishes a partial claiming share 1's index: refused, blamed on share 3."""
    key, shares = consortium
    spec = ModelSpec(n_params=50, public_key_id=public_key_id(key).hex())
    blobs = [encrypt_update(key, spec.packing(), np.full(50, 0.1), weight=w) for w in (2, 3)]
    agg = aggregate_updates(key, blobs)
    honest = PublishedPartial(2, partial_decrypt(key, shares[1], agg))
    framing = PublishedPartial(3, partial_decrypt(key, shares[0], agg))  # share 1's, posted by 3
    verified, refused = verified_only(key, agg, [honest, framing])
    assert [p.share_index for p in verified] == [2]
    assert set(refused) == {3} and "claims share 1" in refused[3]
    # only one share verified: every ciphertext is still missing one partial
    missing = missing_ciphertexts(key, agg, verified)
    assert missing and all(c == {2} for c in missing.values())
