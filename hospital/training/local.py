"""Local training of patent module 4: E epochs (or a fixed step count) on the shared samples."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from hospital.models import MultiHeadNetwork, head_loss
from hospital.training.data import LocalData
from hospital.training.params import model_delta
from node.errors import ValidationFailed


class LocalOptimizer(StrEnum):
    """The hospital's own optimiser for local steps."""

    SGD = "sgd"
    ADAM = "adam"


class TrainConfig(BaseModel):
    """How a hospital trains locally in one round; part of the round's published config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(default=1, ge=1, le=10_000, description="E: passes over the samples")
    steps: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="if set, exactly this many mini-batch steps instead of E epochs",
    )
    batch_size: int = Field(default=32, ge=1, le=65_536)
    optimizer: LocalOptimizer = LocalOptimizer.SGD
    lr: float = Field(default=1e-2, gt=0, le=10)
    momentum: float = Field(default=0.0, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0, le=1)
    seed: int = Field(default=0, ge=0, description="shuffling seed; vary it per round")


@dataclass(frozen=True)
class LocalUpdate:
    """What one hospital contributes to a round: Δ_k (flat float32) and its sample count n_k."""

    delta: Tensor
    n_samples: int

    def __post_init__(self) -> None:
        if self.delta.dim() != 1 or self.delta.dtype != torch.float32:
            raise ValidationFailed(
                "an update is a 1-D float32 vector",
                field="delta",
                fix="build it with hospital.training.params.model_delta",
            )
        if self.n_samples < 1:
            raise ValidationFailed(
                f"an update needs at least one sample, got {self.n_samples}",
                field="n_samples",
                fix="skip the round when the hospital has no shared samples",
            )


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer is LocalOptimizer.ADAM:
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )


def _batches(n: int, config: TrainConfig, generator: torch.Generator) -> list[Tensor]:
    """Index batches: reshuffled each epoch; with ``steps``, as many epochs as it takes."""
    batches: list[Tensor] = []
    wanted = config.steps
    epochs = 0
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, config.batch_size):
            batches.append(order[start : start + config.batch_size])
            if wanted is not None and len(batches) == wanted:
                return batches
        epochs += 1
        if wanted is None and epochs == config.epochs:
            return batches


def train_local(
    global_model: MultiHeadNetwork, data: LocalData, config: TrainConfig
) -> MultiHeadNetwork:
    """A trained copy of ``global_model``; the model passed in is not changed.

    Deterministic: the same model, data and config give the same weights (with
    ``use_deterministic_torch`` and the same thread count).
    """
    if len(data) == 0:
        raise ValidationFailed(
            "no samples to train on",
            field="data",
            fix="skip the round when the hospital has no shared samples",
        )
    model = copy.deepcopy(global_model)
    model.train()
    optimizer = _optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    specs = model.spec.heads
    for batch in _batches(len(data), config, generator):
        optimizer.zero_grad(set_to_none=True)
        outputs = model(data.x[batch])
        loss = head_loss(outputs, {k: v[batch] for k, v in data.targets.items()}, specs)
        loss.backward()
        optimizer.step()
    model.eval()
    return model


def local_update(
    global_model: MultiHeadNetwork, data: LocalData, config: TrainConfig
) -> LocalUpdate:
    """Train locally from the global model and return (Δ_k, n_k) for the aggregate."""
    local = train_local(global_model, data, config)
    return LocalUpdate(delta=model_delta(local, global_model), n_samples=len(data))
