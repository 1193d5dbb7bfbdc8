"""Server-side optimisers every hospital applies identically to the decrypted mean update.

The "server" has no single home in fedchain: each hospital holds the same optimiser
state and feeds it the same sealed aggregate, so each computes the same new global model.
Hence the maths is elementwise, in float64, with no randomness and no reductions whose
order could vary; the result is rounded once to float32.

FedAvg: x ← x + η·Δ̄ (η = 1 is plain federated averaging).
FedAdagrad / FedAdam / FedYogi, Reddi et al. 2021 ("Adaptive Federated Optimization",
Algorithm 2), with Δ̄ the weighted mean of the hospitals' Δ_k:
    m ← β1·m + (1 − β1)·Δ̄
    v ← v + Δ̄²                                 (Adagrad)
    v ← β2·v + (1 − β2)·Δ̄²                      (Adam)
    v ← v − (1 − β2)·Δ̄²·sign(v − Δ̄²)            (Yogi)
    x ← x + η·m / (√v + τ)
starting from m = 0 and v = τ² (the paper's v₋₁ ≥ τ²), without bias correction, as in
the paper.
"""

from __future__ import annotations

from enum import StrEnum

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from node.errors import ValidationFailed


class ServerRule(StrEnum):
    """Which server optimiser the consortium uses."""

    FEDAVG = "fedavg"
    FEDADAGRAD = "fedadagrad"
    FEDADAM = "fedadam"
    FEDYOGI = "fedyogi"


class ServerOptConfig(BaseModel):
    """The server optimiser and its hyperparameters (part of the consortium configuration)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: ServerRule = ServerRule.FEDAVG
    lr: float = Field(default=1.0, gt=0, le=100, description="η, the server learning rate")
    beta1: float = Field(default=0.9, ge=0, lt=1)
    beta2: float = Field(default=0.99, ge=0, lt=1)
    tau: float = Field(default=1e-3, gt=0, le=1, description="adaptivity floor τ")


class ServerOptimizer:
    """Holds m, v and the round count; ``step`` maps (global weights, Δ̄) to new weights."""

    def __init__(self, config: ServerOptConfig, dim: int) -> None:
        self.config = config
        self.dim = dim
        self.rounds = 0
        self.m = torch.zeros(dim, dtype=torch.float64)
        self.v = torch.full((dim,), config.tau**2, dtype=torch.float64)

    def step(self, weights: Tensor, mean_delta: Tensor) -> Tensor:
        """New global weights (float32) from the current ones and the decrypted mean update."""
        for name, t in (("weights", weights), ("mean_delta", mean_delta)):
            if t.dim() != 1 or t.numel() != self.dim:
                raise ValidationFailed(
                    f"{name} has shape {tuple(t.shape)}, the optimiser expects ({self.dim},)",
                    field=name,
                    fix="use the flat vectors of the model this optimiser was made for",
                )
        if not bool(torch.isfinite(mean_delta).all()):
            raise ValidationFailed(
                "the aggregate update contains NaN or infinity",
                field="mean_delta",
                fix="reject the round",
            )
        c = self.config
        x = weights.to(torch.float64)
        d = mean_delta.to(torch.float64)
        if c.rule is ServerRule.FEDAVG:
            new = x + c.lr * d
        else:
            self.m = c.beta1 * self.m + (1 - c.beta1) * d
            d2 = d * d
            if c.rule is ServerRule.FEDADAGRAD:
                self.v = self.v + d2
            elif c.rule is ServerRule.FEDADAM:
                self.v = c.beta2 * self.v + (1 - c.beta2) * d2
            else:
                self.v = self.v - (1 - c.beta2) * d2 * torch.sign(self.v - d2)
            new = x + c.lr * self.m / (torch.sqrt(self.v) + c.tau)
        self.rounds += 1
        return new.to(torch.float32)

    def state(self) -> dict[str, Tensor | int]:
        """Everything a hospital must persist between rounds to keep computing the same model."""
        return {"rounds": self.rounds, "m": self.m.clone(), "v": self.v.clone()}

    def load_state(self, state: dict[str, Tensor | int]) -> None:
        """Restore what ``state`` returned (e.g. after a restart)."""
        m, v, rounds = state["m"], state["v"], state["rounds"]
        if not isinstance(m, Tensor) or not isinstance(v, Tensor) or not isinstance(rounds, int):
            raise ValidationFailed(
                "malformed server optimiser state",
                field="state",
                fix="pass what ServerOptimizer.state() returned",
            )
        if m.shape != (self.dim,) or v.shape != (self.dim,):
            raise ValidationFailed(
                "server optimiser state has the wrong length",
                field="state",
                fix="use the state of an optimiser for the same model",
            )
        self.m, self.v, self.rounds = m.to(torch.float64), v.to(torch.float64), rounds
