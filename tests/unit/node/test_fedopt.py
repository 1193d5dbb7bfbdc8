"""Server optimisers and the global-model blob: deterministic, canonical, correct."""

from __future__ import annotations

import numpy as np
import pytest

from node.errors import ValidationFailed
from node.fedopt import (
    decode_global_model,
    encode_global_model,
    initial_model,
    model_hash,
    server_step,
)
from node.modelspec import ModelSpec, ServerOptimiser, decode_model_spec

KEY_ID = "ab" * 32


def _spec(opt=ServerOptimiser.FEDAVG, **kw):
    return ModelSpec(n_params=5, public_key_id=KEY_ID, optimiser=opt, **kw)


def test_fedavg_adds_the_scaled_mean_delta():
    spec = _spec(server_lr=0.5)
    m0 = initial_model(np.ones(5), spec, "00" * 32)
    m1 = server_step(m0, np.full(5, 2.0), spec)
    assert m1.round == 1
    np.testing.assert_array_equal(m1.weights, np.full(5, 2.0, np.float32))


def test_fedadam_first_step_moves_by_about_lr_times_sign():
    spec = _spec(ServerOptimiser.FEDADAM, server_lr=0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    m1 = server_step(initial_model(np.zeros(5), spec, ""), np.array([1, -1, 2, -2, 0.5]), spec)
    # m = 0.1 d, v = 0.01 d^2  ->  step = lr * 0.1 d / (0.1 |d| + tau) ~ lr * sign(d)
    np.testing.assert_allclose(m1.weights, 0.1 * np.sign([1, -1, 2, -2, 0.5]), atol=2e-3)


def test_fedyogi_second_moment_differs_from_adam_after_two_steps():
    d = np.array([1, -1, 2, -2, 0.5])
    adam, yogi = _spec(ServerOptimiser.FEDADAM), _spec(ServerOptimiser.FEDYOGI)
    a = server_step(server_step(initial_model(np.zeros(5), adam, ""), d, adam), d / 10, adam)
    y = server_step(server_step(initial_model(np.zeros(5), yogi, ""), d, yogi), d / 10, yogi)
    assert not np.array_equal(a.v, y.v)
    assert np.all(y.v >= 0)


@pytest.mark.parametrize("opt", list(ServerOptimiser))
def test_the_step_is_bit_for_bit_deterministic(opt):
    spec = _spec(opt)
    rng = np.random.default_rng(1)
    w, d = rng.normal(size=5), rng.normal(size=5)
    a = server_step(server_step(initial_model(w, spec, ""), d, spec), d / 3, spec)
    b = server_step(server_step(initial_model(w.copy(), spec, ""), d.copy(), spec), d / 3, spec)
    assert model_hash(a) == model_hash(b)
    assert encode_global_model(decode_global_model(encode_global_model(a))) == encode_global_model(
        a
    )


def test_a_tampered_model_blob_is_refused():
    blob = encode_global_model(initial_model(np.zeros(5), _spec(), ""))
    with pytest.raises(ValidationFailed):
        decode_global_model(blob[:-1])
    with pytest.raises(ValidationFailed):
        decode_global_model(b"FCGM1\n" + b'{"n":5, "round":0,"spec_hash":""}\n' + blob[-60:])


def test_wrong_weight_count_is_refused():
    with pytest.raises(ValidationFailed, match="weights"):
        initial_model(np.zeros(4), _spec(), "")


def test_spec_blob_must_be_canonical():
    spec = _spec()
    assert decode_model_spec(spec.canonical()) == spec
    with pytest.raises(ValidationFailed, match="canonical"):
        decode_model_spec(spec.model_dump_json(indent=1).encode())
