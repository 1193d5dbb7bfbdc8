"""Evaluation on a held-out local split: accuracy, balanced accuracy, ROC AUC, loss."""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor

from hospital.models import HeadKind, MultiHeadNetwork, head_loss, head_probabilities
from hospital.training.data import LocalData
from node.errors import ValidationFailed


class Evaluation(BaseModel):
    """Scores of one head on one split. ``auc`` is None when the split has a single class."""

    model_config = ConfigDict(frozen=True)

    head: str
    n: int
    loss: float
    accuracy: float
    balanced_accuracy: float
    auc: float | None


def balanced_accuracy(predicted: Tensor, truth: Tensor) -> float:
    """Mean over the classes present in ``truth`` of the recall of that class."""
    recalls = [float((predicted[truth == c] == c).float().mean()) for c in torch.unique(truth)]
    return sum(recalls) / len(recalls)


def roc_auc(scores: Tensor, truth: Tensor) -> float | None:
    """Binary ROC AUC (Mann–Whitney U with average ranks for ties); None with one class."""
    truth = truth.to(torch.bool)
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    s = scores.to(torch.float64)
    order = torch.argsort(s, stable=True)
    sorted_s = s[order]
    ranks = torch.empty_like(s)
    i = 0
    while i < len(sorted_s):
        j = i
        while j + 1 < len(sorted_s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1  # average 1-based rank of the tie group
        i = j + 1
    u = float(ranks[truth].sum()) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def evaluate(model: MultiHeadNetwork, data: LocalData, head: str | None = None) -> Evaluation:
    """Score one head (default: the first) of ``model`` on ``data``.

    Binary heads: predicted positive when p > 0.5. Softmax heads: arg-max, AUC one-vs-rest
    macro mean. Multi-label heads: accuracy and AUC per label, averaged.
    """
    specs = model.spec.heads
    spec = next((s for s in specs if s.name == (head or specs[0].name)), None)
    if spec is None or spec.name not in data.targets:
        raise ValidationFailed(
            f"no head/target named {head!r}",
            field="head",
            fix=f"use one of {[s.name for s in specs]}",
        )
    model.eval()
    with torch.no_grad():
        outputs = model(data.x)
        loss = float(head_loss(outputs, data.targets, [spec]))
        proba = head_probabilities(outputs, [spec])[spec.name]
    truth = data.targets[spec.name]
    if spec.kind is HeadKind.BINARY:
        predicted = (proba > 0.5).long()
        t = truth.long()
        acc = float((predicted == t).float().mean())
        return Evaluation(
            head=spec.name,
            n=len(data),
            loss=loss,
            accuracy=acc,
            balanced_accuracy=balanced_accuracy(predicted, t),
            auc=roc_auc(proba, t),
        )
    if spec.kind is HeadKind.SOFTMAX:
        predicted = proba.argmax(dim=-1)
        t = truth.long()
        per_class = [roc_auc(proba[:, c], t == c) for c in torch.unique(t).tolist()]
        aucs = [a for a in per_class if a is not None]
        return Evaluation(
            head=spec.name,
            n=len(data),
            loss=loss,
            accuracy=float((predicted == t).float().mean()),
            balanced_accuracy=balanced_accuracy(predicted, t),
            auc=sum(aucs) / len(aucs) if aucs else None,
        )
    predicted = (proba > 0.5).long()
    t = truth.long()
    label_aucs = [roc_auc(proba[:, j], t[:, j]) for j in range(t.shape[1])]
    aucs = [a for a in label_aucs if a is not None]
    bal = [balanced_accuracy(predicted[:, j], t[:, j]) for j in range(t.shape[1])]
    return Evaluation(
        head=spec.name,
        n=len(data),
        loss=loss,
        accuracy=float((predicted == t).float().mean()),
        balanced_accuracy=sum(bal) / len(bal),
        auc=sum(aucs) / len(aucs) if aucs else None,
    )
