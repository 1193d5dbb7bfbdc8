import pytest
import torch
from pydantic import ValidationError

from hospital.models import (
    BPSpec,
    HeadKind,
    HeadSpec,
    VGGSpec,
    build_model,
    head_loss,
    head_probabilities,
)

EMR_HEADS = (
    HeadSpec(name="diagnosis", kind=HeadKind.SOFTMAX, size=5),
    HeadSpec(name="complications", kind=HeadKind.MULTILABEL, size=3),
    HeadSpec(name="treatment", kind=HeadKind.MULTILABEL, size=4),
)


def _weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_same_spec_and_seed_build_identical_weights() -> None:
    spec = BPSpec(input_dim=10, hidden=(16, 8), heads=EMR_HEADS)
    a, b = build_model(spec, seed=7), build_model(spec, seed=7)
    assert all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b), strict=True))


def test_different_seeds_build_different_weights() -> None:
    spec = BPSpec(input_dim=10, heads=EMR_HEADS)
    a, b = build_model(spec, seed=1), build_model(spec, seed=2)
    assert not torch.equal(_weights(a)[0], _weights(b)[0])


def test_building_leaves_the_callers_random_stream_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model(BPSpec(input_dim=4, heads=EMR_HEADS), seed=99)
    assert torch.equal(torch.rand(3), expected)


def test_bp_network_gives_one_output_per_head_with_its_shape() -> None:
    model = build_model(BPSpec(input_dim=10, hidden=(16,), heads=EMR_HEADS), seed=0)
    out = model(torch.randn(6, 10))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "diagnosis": (6, 5),
        "complications": (6, 3),
        "treatment": (6, 4),
    }
    proba = head_probabilities(out, EMR_HEADS)
    assert torch.allclose(proba["diagnosis"].sum(dim=1), torch.ones(6))
    assert bool(((proba["treatment"] >= 0) & (proba["treatment"] <= 1)).all())


def test_losses_of_softmax_and_multilabel_heads_are_summed_and_trainable() -> None:
    model = build_model(BPSpec(input_dim=10, heads=EMR_HEADS), seed=0)
    out = model(torch.randn(6, 10))
    targets = {
        "diagnosis": torch.tensor([0, 1, 2, 3, 4, 0]),
        "complications": torch.randint(0, 2, (6, 3)).float(),
        "treatment": torch.randint(0, 2, (6, 4)).float(),
    }
    loss = head_loss(out, targets, EMR_HEADS)
    parts = [head_loss(out, targets, [h]) for h in EMR_HEADS]
    assert torch.isclose(loss, sum(parts))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_binary_head_gives_one_logit_per_sample() -> None:
    spec = BPSpec(input_dim=13, heads=(HeadSpec(name="disease", kind=HeadKind.BINARY, size=1),))
    assert build_model(spec, seed=0)(torch.randn(5, 13))["disease"].shape == (5,)


def test_vgg_follows_the_vgg11_pattern_on_32x32_images() -> None:
    spec = VGGSpec(
        in_channels=3,
        width_divisor=16,
        heads=(HeadSpec(name="lesion", kind=HeadKind.SOFTMAX, size=3),),
    )
    model = build_model(spec, seed=0)
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    pools = [m for m in model.features if isinstance(m, torch.nn.MaxPool2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 16, 32, 32, 32, 32]
    assert len(pools) == 5
    assert model(torch.randn(2, 3, 32, 32))["lesion"].shape == (2, 3)


def test_vgg_accepts_larger_multiples_of_32() -> None:
    spec = VGGSpec(
        in_channels=1,
        image_size=64,
        width_divisor=16,
        heads=(HeadSpec(name="finding", kind=HeadKind.BINARY, size=1),),
    )
    assert build_model(spec, seed=0)(torch.randn(2, 1, 64, 64))["finding"].shape == (2,)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: HeadSpec(name="d", kind=HeadKind.BINARY, size=2), "binary head has size 1"),
        (lambda: HeadSpec(name="d", kind=HeadKind.SOFTMAX, size=1), "at least 2 classes"),
        (lambda: BPSpec(input_dim=3, heads=(EMR_HEADS[0], EMR_HEADS[0])), "unique"),
        (lambda: VGGSpec(image_size=48, heads=EMR_HEADS), "multiple of 32"),
        (lambda: BPSpec(input_dim=3, hidden=(0,), heads=EMR_HEADS), "hidden widths"),
    ],
)
def test_inconsistent_specs_are_refused_with_the_reason(make, message) -> None:
    with pytest.raises(ValidationError, match=message):
        make()
