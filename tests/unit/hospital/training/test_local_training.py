import pytest
import torch

from hospital.models import build_model
from hospital.training import (
    LocalData,
    TrainConfig,
    balanced_accuracy,
    evaluate,
    flatten,
    local_update,
    roc_auc,
    train_local,
)
from node.errors import ValidationFailed


def test_same_seed_and_data_train_to_identical_weights(spec, make_data) -> None:
    data = make_data(50, 0)
    config = TrainConfig(epochs=2, batch_size=8, lr=0.05, optimizer="adam", seed=3)
    a = train_local(build_model(spec, 0), data, config)
    b = train_local(build_model(spec, 0), data, config)
    assert torch.equal(flatten(a), flatten(b))


def test_different_shuffling_seed_gives_different_weights(spec, make_data) -> None:
    data = make_data(50, 0)
    a = train_local(build_model(spec, 0), data, TrainConfig(epochs=2, batch_size=8, seed=1))
    b = train_local(build_model(spec, 0), data, TrainConfig(epochs=2, batch_size=8, seed=2))
    assert not torch.equal(flatten(a), flatten(b))


def test_training_leaves_the_global_model_unchanged_and_learns(spec, make_data) -> None:
    global_model = build_model(spec, 0)
    before = flatten(global_model)
    data = make_data(200, 1)
    local = train_local(global_model, data, TrainConfig(epochs=30, batch_size=16, lr=0.1))
    assert torch.equal(flatten(global_model), before)
    assert evaluate(local, data).accuracy > 0.9
    assert evaluate(local, data).loss < evaluate(global_model, data).loss


def test_steps_override_epochs_and_update_carries_the_sample_count(spec, make_data) -> None:
    data = make_data(10, 2)
    update = local_update(build_model(spec, 0), data, TrainConfig(steps=7, batch_size=4))
    assert update.n_samples == 10
    assert update.delta.dtype == torch.float32


def test_training_on_no_samples_is_refused(spec) -> None:
    empty = LocalData(torch.zeros(0, 4), {"disease": torch.zeros(0)})
    with pytest.raises(ValidationFailed, match="no samples"):
        train_local(build_model(spec, 0), empty, TrainConfig())


def test_roc_auc_matches_hand_count_with_ties() -> None:
    scores = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.4])
    truth = torch.tensor([0, 0, 1, 1, 1])
    # positive/negative pairs: (0.35>0.1)=1, (0.35<0.4)=0, (0.8>both)=2, (0.4>0.1)=1, tie .5
    assert roc_auc(scores, truth) == pytest.approx(4.5 / 6)
    assert roc_auc(scores, torch.ones(5)) is None


def test_balanced_accuracy_averages_recall_per_class() -> None:
    predicted = torch.tensor([1, 1, 1, 1, 0])
    truth = torch.tensor([1, 1, 1, 0, 0])
    assert balanced_accuracy(predicted, truth) == pytest.approx((1.0 + 0.5) / 2)


def test_evaluate_reports_accuracy_of_thresholded_probabilities(spec, make_data) -> None:
    model = build_model(spec, 0)
    data = make_data(40, 4)
    with torch.no_grad():
        predicted = (torch.sigmoid(model(data.x)["disease"]) > 0.5).float()
    expected = float((predicted == data.targets["disease"]).float().mean())
    result = evaluate(model, data)
    assert result.accuracy == pytest.approx(expected)
    assert result.n == 40 and result.auc is not None
