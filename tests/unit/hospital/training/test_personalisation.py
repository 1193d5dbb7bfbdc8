import torch

from hospital.training import (
    Criterion,
    FineTuneScope,
    PersonaliseConfig,
    TrainConfig,
    flatten,
    personalise,
    stratified_split,
    train_local,
)
from hospital.training.personalise import _val_loss


def _global_model(spec, make_data):
    # a "global" model trained elsewhere: the other hospitals' distribution (shifted labels)
    from hospital.models import build_model

    return train_local(
        build_model(spec, 0),
        make_data(200, 9, shift=1.5),
        TrainConfig(epochs=20, batch_size=16, lr=0.1),
    )


def test_personalised_model_is_never_worse_on_the_validation_slice(spec, make_data) -> None:
    global_model = _global_model(spec, make_data)
    for seed in range(4):
        data = make_data(40, 100 + seed)
        config = PersonaliseConfig(max_epochs=10, patience=3, seed=seed, lr=1e-2)
        result = personalise(global_model, data, config)
        _, val_idx = stratified_split(data.targets["disease"].long(), config.val_fraction, seed)
        val = data.subset(val_idx)
        assert _val_loss(result.model, val) <= _val_loss(global_model, val)
        assert result.val_loss <= result.val_loss_global


def test_fine_tuning_helps_a_hospital_whose_data_differs(spec, make_data) -> None:
    result = personalise(
        _global_model(spec, make_data),
        make_data(80, 5),
        PersonaliseConfig(max_epochs=20, seed=1, lr=1e-2),
    )
    assert result.epochs > 0
    assert result.val_loss < result.val_loss_global


def test_global_model_is_kept_when_tuning_only_hurts(spec, make_data) -> None:
    global_model = _global_model(spec, make_data)
    # a huge learning rate wrecks every epoch: the global model must come back unchanged
    result = personalise(
        global_model,
        make_data(40, 6, shift=1.5),
        PersonaliseConfig(max_epochs=3, patience=3, lr=10.0, seed=0),
    )
    assert result.epochs == 0
    assert torch.equal(flatten(result.model), flatten(global_model))


def test_head_scope_changes_only_the_heads(spec, make_data) -> None:
    global_model = _global_model(spec, make_data)
    result = personalise(
        global_model,
        make_data(80, 7),
        PersonaliseConfig(scope=FineTuneScope.HEADS, max_epochs=5, lr=1e-2),
    )
    before = dict(global_model.named_parameters())
    for name, p in result.model.named_parameters():
        if not name.startswith("heads."):
            assert torch.equal(p, before[name])


def test_stratified_split_holds_out_every_class_and_is_reproducible() -> None:
    labels = torch.tensor([0] * 9 + [1] * 3)
    rest, held = stratified_split(labels, 0.25, seed=4)
    assert sorted(labels[held].tolist()) == [0, 0, 1]
    assert sorted(torch.cat([rest, held]).tolist()) == list(range(12))
    assert torch.equal(held, stratified_split(labels, 0.25, seed=4)[1])


def test_accuracy_criterion_never_lowers_validation_accuracy(spec, make_data) -> None:
    global_model = _global_model(spec, make_data)
    for seed in range(3):
        result = personalise(
            global_model,
            make_data(40, 200 + seed),
            PersonaliseConfig(criterion=Criterion.ACCURACY, max_epochs=8, seed=seed, lr=1e-2),
        )
        assert result.val_accuracy >= result.val_accuracy_global
        if result.epochs == 0:
            assert torch.equal(flatten(result.model), flatten(global_model))
