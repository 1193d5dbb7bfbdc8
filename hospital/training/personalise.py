"""Local personalisation: fine-tune the global model on the hospital's own training samples.

So that no hospital ends up worse off than training alone, each hospital may fine-tune
the shared model (its heads only, or the whole network) on a stratified part of its own
training set and stop early on the rest. The global model itself is the first candidate,
so the returned model is never worse than the global one on that validation slice.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from hospital.models import HeadKind, MultiHeadNetwork, head_loss
from hospital.training.data import LocalData, stratified_split
from hospital.training.metrics import evaluate


class FineTuneScope(StrEnum):
    """Which parameters personalisation may change."""

    HEADS = "heads"
    WHOLE = "whole"


class Criterion(StrEnum):
    """What "better on the validation slice" means when picking the epoch to keep.

    ``loss``: lower validation loss. ``accuracy``: higher validation accuracy of the first
    head, ties broken by lower loss.
    """

    LOSS = "loss"
    ACCURACY = "accuracy"


class PersonaliseConfig(BaseModel):
    """Fine-tuning with early stopping on a held-out slice of the hospital's training set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: FineTuneScope = FineTuneScope.WHOLE
    criterion: Criterion = Criterion.LOSS
    val_fraction: float = Field(default=0.25, gt=0, lt=1)
    max_epochs: int = Field(default=30, ge=1, le=10_000)
    patience: int = Field(default=5, ge=1, le=10_000)
    batch_size: int = Field(default=4, ge=1, le=65_536)
    lr: float = Field(default=1e-3, gt=0, le=10)
    weight_decay: float = Field(default=0.0, ge=0, le=1)
    seed: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class Personalised:
    """The chosen model, how many epochs it was tuned (0 = the global model kept) and why."""

    model: MultiHeadNetwork
    epochs: int
    val_loss_global: float
    val_loss: float
    val_accuracy_global: float
    val_accuracy: float


def _stratify_labels(model: MultiHeadNetwork, data: LocalData) -> Tensor:
    """Labels to stratify on: the first head's class (multi-label heads: no stratification)."""
    spec = model.spec.heads[0]
    target = data.targets[spec.name]
    if spec.kind is HeadKind.MULTILABEL:
        return torch.zeros(len(data), dtype=torch.int64)
    return target.long()


def _val_loss(model: MultiHeadNetwork, data: LocalData) -> float:
    model.eval()
    with torch.no_grad():
        return float(head_loss(model(data.x), data.targets, model.spec.heads))


def _score(model: MultiHeadNetwork, data: LocalData) -> tuple[float, float]:
    """(first-head accuracy, loss) on the slice."""
    return evaluate(model, data).accuracy, _val_loss(model, data)


def _better(new: tuple[float, float], old: tuple[float, float], criterion: Criterion) -> bool:
    (new_acc, new_loss), (old_acc, old_loss) = new, old
    if criterion is Criterion.LOSS:
        return new_loss < old_loss
    return new_acc > old_acc or (new_acc == old_acc and new_loss < old_loss)


def personalise(
    global_model: MultiHeadNetwork, data: LocalData, config: PersonaliseConfig
) -> Personalised:
    """Fine-tune a copy of ``global_model`` and keep the epoch best on the validation slice.

    The validation slice is a stratified ``val_fraction`` of ``data`` (fixed by ``seed``);
    "best" is ``config.criterion``; ties keep the earlier candidate, so the global model
    wins unless tuning truly helps.
    """
    fit_idx, val_idx = stratified_split(
        _stratify_labels(global_model, data), config.val_fraction, config.seed
    )
    fit, val = data.subset(fit_idx), data.subset(val_idx)
    model = copy.deepcopy(global_model)
    for name, p in model.named_parameters():
        p.requires_grad_(config.scope is FineTuneScope.WHOLE or name.startswith("heads."))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)

    global_score = _score(model, val)
    best, best_epoch, best_state = global_score, 0, copy.deepcopy(model.state_dict())
    stale = 0
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        order = torch.randperm(len(fit), generator=generator)
        for start in range(0, len(fit), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = head_loss(
                model(fit.x[batch]), {k: v[batch] for k, v in fit.targets.items()}, model.spec.heads
            )
            loss.backward()
            optimizer.step()
        now = _score(model, val)
        if _better(now, best, config.criterion):
            best, best_epoch, best_state = now, epoch, copy.deepcopy(model.state_dict())
            stale = 0
        else:
            stale += 1
            if stale >= config.patience:
                break
    model.load_state_dict(best_state)
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return Personalised(
        model=model,
        epochs=best_epoch,
        val_loss_global=global_score[1],
        val_loss=best[1],
        val_accuracy_global=global_score[0],
        val_accuracy=best[0],
    )
