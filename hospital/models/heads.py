"""Output heads shared by the BP and VGG networks, with their losses and probabilities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from hospital.models.specs import HeadKind, HeadSpec

Outputs = dict[str, Tensor]


class Heads(nn.Module):
    """One linear layer per head, from the shared trunk's features to each head's logits."""

    def __init__(self, in_features: int, specs: Sequence[HeadSpec]) -> None:
        super().__init__()
        self.specs = tuple(specs)
        self.layers = nn.ModuleDict({s.name: nn.Linear(in_features, s.size) for s in self.specs})

    def forward(self, features: Tensor) -> Outputs:
        """Logits per head name; a binary head gives shape (batch,), the others (batch, size)."""
        out: Outputs = {}
        for spec in self.specs:
            logits = self.layers[spec.name](features)
            out[spec.name] = logits.squeeze(-1) if spec.kind is HeadKind.BINARY else logits
        return out


def head_loss(
    outputs: Mapping[str, Tensor], targets: Mapping[str, Tensor], specs: Sequence[HeadSpec]
) -> Tensor:
    """Sum of the heads' mean losses.

    Targets: class indices (int64, shape (batch,)) for softmax heads, a 0/1 float tensor
    of the logits' shape for binary and multi-label heads.
    """
    total = torch.zeros((), dtype=torch.float32)
    for spec in specs:
        logits, target = outputs[spec.name], targets[spec.name]
        if spec.kind is HeadKind.SOFTMAX:
            total = total + F.cross_entropy(logits, target.long())
        else:
            total = total + F.binary_cross_entropy_with_logits(logits, target.float())
    return total


def head_probabilities(outputs: Mapping[str, Tensor], specs: Sequence[HeadSpec]) -> Outputs:
    """Probabilities per head: softmax rows for softmax heads, sigmoids for the others."""
    return {
        s.name: torch.softmax(outputs[s.name], dim=-1)
        if s.kind is HeadKind.SOFTMAX
        else torch.sigmoid(outputs[s.name])
        for s in specs
    }
