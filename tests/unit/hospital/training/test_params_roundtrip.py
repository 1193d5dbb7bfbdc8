import pytest
import torch

from hospital.models import build_model
from hospital.training import (
    TrainConfig,
    apply_delta,
    flatten,
    layout_digest,
    load_flat,
    model_delta,
    parameter_count,
    parameter_layout,
    train_local,
)
from node.errors import ValidationFailed


def test_flat_vector_follows_named_parameters_order(spec) -> None:
    model = build_model(spec, seed=0)
    flat = flatten(model)
    assert flat.dtype == torch.float32 and flat.shape == (parameter_count(model),)
    assert [name for name, _ in parameter_layout(model)] == [
        "trunk.0.weight",
        "trunk.0.bias",
        "heads.layers.disease.weight",
        "heads.layers.disease.bias",
    ]
    first = model.trunk[0].weight
    assert torch.equal(flat[: first.numel()], first.detach().reshape(-1))
    assert torch.equal(flat[-1:], model.heads.layers["disease"].bias.detach())


def test_delta_applied_to_the_global_model_gives_the_local_model(spec, make_data) -> None:
    global_model = build_model(spec, seed=0)
    local = train_local(global_model, make_data(64, 1), TrainConfig(epochs=3, lr=0.1))
    delta = model_delta(local, global_model)
    rebuilt = build_model(spec, seed=0)
    apply_delta(rebuilt, delta)
    # w_g + (w_l - w_g) may differ from w_l by one float32 rounding step
    assert torch.allclose(flatten(rebuilt), flatten(local), atol=1e-6, rtol=0)
    assert float(delta.abs().max()) > 0


def test_load_flat_then_flatten_is_exact(spec) -> None:
    model = build_model(spec, seed=0)
    vector = torch.arange(parameter_count(model), dtype=torch.float32) / 7
    load_flat(model, vector)
    assert torch.equal(flatten(model), vector)


def test_same_spec_gives_same_layout_digest_and_different_spec_does_not(spec) -> None:
    other = spec.model_copy(update={"hidden": (9,)})
    assert layout_digest(build_model(spec, 0)) == layout_digest(build_model(spec, 5))
    assert layout_digest(build_model(spec, 0)) != layout_digest(build_model(other, 0))


def test_vector_of_the_wrong_length_is_refused_and_model_untouched(spec) -> None:
    model = build_model(spec, seed=0)
    before = flatten(model)
    with pytest.raises(ValidationFailed) as err:
        load_flat(model, torch.zeros(3))
    assert err.value.field == "vector"
    assert torch.equal(flatten(model), before)


def test_non_finite_vector_is_refused(spec) -> None:
    model = build_model(spec, seed=0)
    bad = torch.zeros(parameter_count(model))
    bad[3] = float("nan")
    with pytest.raises(ValidationFailed, match="NaN"):
        load_flat(model, bad)
