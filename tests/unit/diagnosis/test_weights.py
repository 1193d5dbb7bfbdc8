"""Attribute weights from the consortium model, clinician overrides and fallbacks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from diagnosis.weights import (
    WeightBook,
    WeightSource,
    importance_from_first_layer,
    importance_from_input_gradients,
    weights_from_severity_table,
)
from node.errors import ValidationFailed

GROUPS = {"symptom:fever": [0, 1], "symptom:cough": [2], "lab:crp": [3]}


def mlp_with_first_layer(weight: list[list[float]]) -> nn.Module:
    model = nn.Sequential(nn.Linear(4, 2, bias=False), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(weight))
    return model


def test_first_layer_importance_is_the_mean_column_norm_of_each_group_scaled_to_mean_one() -> None:
    # column norms: 5, 1, 2, 0 → fever mean(5,1)=3, cough 2, crp 0 → mean 5/3
    model = mlp_with_first_layer([[3.0, 1.0, 0.0, 0.0], [4.0, 0.0, 2.0, 0.0]])
    got = importance_from_first_layer(model, GROUPS)
    assert got == pytest.approx({"symptom:fever": 1.8, "symptom:cough": 1.2, "lab:crp": 0.0})


def test_input_gradient_importance_ranks_the_column_the_model_reads() -> None:
    model = nn.Sequential(nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.0, 0.0, 5.0, 0.1]]))
    x = torch.ones(8, 4)
    got = importance_from_input_gradients(model, x, GROUPS)
    assert got["symptom:cough"] > got["lab:crp"] > got["symptom:fever"] == 0.0


def test_column_groups_outside_the_model_input_name_the_attribute() -> None:
    model = mlp_with_first_layer([[1.0] * 4, [1.0] * 4])
    with pytest.raises(ValidationFailed) as err:
        importance_from_first_layer(model, {"lab:crp": [9]})
    assert err.value.field == "lab:crp"
    with pytest.raises(ValidationFailed, match="no nn.Linear"):
        importance_from_first_layer(nn.ReLU(), GROUPS)


def test_book_starts_uniform_then_follows_each_sealed_round_and_bumps_the_version() -> None:
    book = WeightBook()
    assert book.current().source is WeightSource.UNIFORM and book.current().weights == {}
    model = mlp_with_first_layer([[3.0, 1.0, 0.0, 0.0], [4.0, 0.0, 2.0, 0.0]])
    snap = book.on_round_sealed(model, GROUPS, round_id=4)
    assert (snap.source, snap.round_id, snap.version) == (WeightSource.MODEL, 4, 1)
    assert snap.weights["symptom:fever"] == pytest.approx(1.8)


def test_clinician_overrides_win_over_the_model_and_survive_a_refresh() -> None:
    book = WeightBook()
    model = mlp_with_first_layer([[3.0, 1.0, 0.0, 0.0], [4.0, 0.0, 2.0, 0.0]])
    book.set_overrides({"lab:CRP": 2.5})
    snap = book.on_round_sealed(model, GROUPS, round_id=1)
    assert snap.weights["lab:crp"] == 2.5 and snap.overrides == {"lab:crp": 2.5}


def test_overrides_refuse_keys_that_are_not_attributes() -> None:
    with pytest.raises(ValidationFailed) as err:
        WeightBook().set_overrides({"fever": 2.0})
    assert err.value.field == "fever" and "symptom:" in (err.value.fix or "")


@pytest.mark.parametrize("weight", [float("inf"), float("nan"), -1.0])
def test_overrides_refuse_infinite_nan_or_negative_weights(weight: float) -> None:
    # found by fuzzing the hospital API: Infinity was accepted and voided every match
    book = WeightBook()
    with pytest.raises(ValidationFailed) as err:
        book.set_overrides({"symptom:fever": weight})
    assert err.value.field == "symptom:fever" and "finite" in (err.value.fix or "")
    assert book.current().overrides == {}


def test_severity_table_fallback_normalises_names_and_scales_to_mean_one() -> None:
    w = weights_from_severity_table({" skin rash": 3, "itching": 1})
    assert w == {"symptom:skin_rash": 1.5, "symptom:itching": 0.5}
    assert WeightBook(w).current().source is WeightSource.SEVERITY_TABLE


def test_loaded_weights_never_reuse_a_version_this_book_has_had() -> None:
    from diagnosis.weights import SharedWeights, WeightBook

    book = WeightBook()
    local = book.set_overrides({"symptom:cough": 2.0})  # a local change takes version 1
    loaded = book.load(SharedWeights(overrides={"symptom:fever": 3.0}), version=1)
    assert loaded.version > local.version  # a cache keyed by version cannot mix them up
    assert loaded.weights == {"symptom:fever": 3.0}
    assert book.load(SharedWeights(), version=9).version == 9  # published numbers otherwise
