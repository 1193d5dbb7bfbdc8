import math

import pytest
import torch

from hospital.training import ServerOptConfig, ServerOptimizer, ServerRule
from node.errors import ValidationFailed

X0 = torch.tensor([1.0, -2.0])
D1 = torch.tensor([0.5, -0.1])
D2 = torch.tensor([-0.2, 0.3])


def test_fedavg_with_server_lr_one_adds_the_mean_update() -> None:
    opt = ServerOptimizer(ServerOptConfig(rule=ServerRule.FEDAVG), dim=2)
    assert torch.equal(opt.step(X0, D1), X0 + D1)


def test_fedavg_scales_by_the_server_learning_rate() -> None:
    opt = ServerOptimizer(ServerOptConfig(rule=ServerRule.FEDAVG, lr=0.5), dim=2)
    assert torch.allclose(opt.step(X0, D1), torch.tensor([1.25, -2.05]))


def _hand_adaptive(rule: str, lr: float, b1: float, b2: float, tau: float) -> list[list[float]]:
    """Reddi et al. Algorithm 2 written out per coordinate, in plain Python floats."""
    x = [1.0, -2.0]
    m = [0.0, 0.0]
    v = [tau * tau, tau * tau]
    out = []
    for d in ([0.5, -0.1], [-0.2, 0.3]):
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * d[i]
            if rule == "adam":
                v[i] = b2 * v[i] + (1 - b2) * d[i] ** 2
            else:
                s = v[i] - d[i] ** 2
                v[i] = v[i] - (1 - b2) * d[i] ** 2 * (0.0 if s == 0 else math.copysign(1.0, s))
            x[i] = x[i] + lr * m[i] / (math.sqrt(v[i]) + tau)
        out.append(list(x))
    return out


@pytest.mark.parametrize(
    ("rule", "hand"), [(ServerRule.FEDADAM, "adam"), (ServerRule.FEDYOGI, "yogi")]
)
def test_adaptive_steps_match_hand_computed_values(rule, hand) -> None:
    config = ServerOptConfig(rule=rule, lr=0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    opt = ServerOptimizer(config, dim=2)
    expected = _hand_adaptive(hand, 0.1, 0.9, 0.99, 1e-3)
    x1 = opt.step(X0, D1)
    x2 = opt.step(x1, D2)
    assert x1.tolist() == pytest.approx(expected[0], abs=1e-6)
    assert x2.tolist() == pytest.approx(expected[1], abs=1e-6)


def test_first_fedadam_step_moves_each_coordinate_by_about_lr_times_sign() -> None:
    # m = 0.1 d, v ~ 0.01 d^2, tau ~ 0 -> m / sqrt(v) ~ sign(d): the adaptive step is scale-free.
    opt = ServerOptimizer(ServerOptConfig(rule=ServerRule.FEDADAM, lr=0.1, tau=1e-6), dim=2)
    step = opt.step(X0, D1) - X0
    assert step.tolist() == pytest.approx([0.1, -0.1], rel=1e-3)


def test_two_hospitals_with_the_same_inputs_compute_bit_identical_models() -> None:
    config = ServerOptConfig(rule=ServerRule.FEDYOGI, lr=0.03)
    a, b = ServerOptimizer(config, dim=50), ServerOptimizer(config, dim=50)
    g = torch.Generator().manual_seed(0)
    xa = xb = torch.randn(50, generator=g)
    for _ in range(5):
        d = torch.randn(50, generator=g) * 0.01
        xa, xb = a.step(xa, d), b.step(xb, d)
    assert torch.equal(xa, xb)


def test_restored_state_continues_exactly() -> None:
    config = ServerOptConfig(rule=ServerRule.FEDADAM, lr=0.05)
    original = ServerOptimizer(config, dim=2)
    x1 = original.step(X0, D1)
    restored = ServerOptimizer(config, dim=2)
    restored.load_state(original.state())
    assert torch.equal(restored.step(x1, D2), original.step(x1, D2))


def test_update_of_the_wrong_length_or_non_finite_is_refused() -> None:
    opt = ServerOptimizer(ServerOptConfig(), dim=2)
    with pytest.raises(ValidationFailed) as err:
        opt.step(X0, torch.zeros(3))
    assert err.value.field == "mean_delta"
    with pytest.raises(ValidationFailed, match="NaN"):
        opt.step(X0, torch.tensor([0.0, float("inf")]))
