import pytest
import torch

from hospital.models import BPSpec, HeadKind, HeadSpec, VGGSpec, build_model
from hospital.training import LocalData, TrainConfig, evaluate, flatten, train_local

EMR = BPSpec(
    input_dim=6,
    hidden=(16,),
    heads=(
        HeadSpec(name="diagnosis", kind=HeadKind.SOFTMAX, size=3),
        HeadSpec(name="complications", kind=HeadKind.MULTILABEL, size=2),
    ),
)


def _emr_cases(n: int, seed: int) -> LocalData:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    diagnosis = x[:, :3].argmax(dim=1)  # the largest of three findings names the disease
    complications = torch.stack([x[:, 3] > 0, x[:, 4] > x[:, 5]], dim=1).float()
    return LocalData(x, {"diagnosis": diagnosis, "complications": complications})


def test_bp_network_learns_softmax_and_multilabel_heads_together() -> None:
    model = train_local(
        build_model(EMR, 0),
        _emr_cases(300, 1),
        TrainConfig(epochs=40, batch_size=32, optimizer="adam", lr=1e-2),
    )
    test = _emr_cases(200, 2)
    diagnosis = evaluate(model, test, "diagnosis")
    complications = evaluate(model, test, "complications")
    assert diagnosis.accuracy > 0.8 and diagnosis.auc is not None and diagnosis.auc > 0.9
    assert complications.accuracy > 0.8 and complications.balanced_accuracy > 0.75


def test_evaluating_an_unknown_head_names_the_choices() -> None:
    from node.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="diagnosis"):
        evaluate(build_model(EMR, 0), _emr_cases(4, 0), "treatment")


def test_vgg_training_is_reproducible_from_its_seed() -> None:
    spec = VGGSpec(
        in_channels=3,
        width_divisor=64,
        classifier_hidden=8,
        heads=(HeadSpec(name="lesion", kind=HeadKind.BINARY, size=1),),
    )
    g = torch.Generator().manual_seed(0)
    data = LocalData(
        torch.randn(8, 3, 32, 32, generator=g), {"lesion": torch.tensor([0.0, 1.0] * 4)}
    )
    config = TrainConfig(steps=3, batch_size=4, optimizer="adam", lr=1e-3, seed=5)
    a = train_local(build_model(spec, 3), data, config)
    b = train_local(build_model(spec, 3), data, config)
    assert torch.equal(flatten(a), flatten(b))
    assert not torch.equal(flatten(a), flatten(build_model(spec, 3)))
