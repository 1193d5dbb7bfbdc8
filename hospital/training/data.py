"""A hospital's training samples as tensors (V1 rows and V2 targets per head), and splits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor

from node.errors import ValidationFailed


@dataclass(frozen=True)
class LocalData:
    """Samples of one hospital: ``x`` (n, ...) float32 and one target tensor per head."""

    x: Tensor
    targets: Mapping[str, Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        for name, target in self.targets.items():
            if target.shape[0] != n:
                raise ValidationFailed(
                    f"target {name!r} has {target.shape[0]} rows, x has {n}",
                    field=f"targets.{name}",
                    fix="give one target row per sample",
                )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, indices: Tensor) -> LocalData:
        """The samples at ``indices`` (an int64 tensor), in that order."""
        return LocalData(self.x[indices], {k: v[indices] for k, v in self.targets.items()})


def stratified_split(labels: Tensor, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Indices (rest, held_out) with about ``fraction`` of each class held out.

    Every class with at least two samples keeps at least one on each side, so a tiny
    hospital still trains and validates on every class it has. Deterministic in ``seed``.
    """
    if not 0.0 < fraction < 1.0:
        raise ValidationFailed(
            f"held-out fraction must be in (0, 1), got {fraction}",
            field="fraction",
            fix="use e.g. 0.25",
        )
    generator = torch.Generator().manual_seed(seed)
    rest: list[Tensor] = []
    held: list[Tensor] = []
    for cls in torch.unique(labels):
        members = torch.nonzero(labels == cls).flatten()
        members = members[torch.randperm(members.numel(), generator=generator)]
        k = round(fraction * members.numel())
        if members.numel() >= 2:
            k = min(max(k, 1), members.numel() - 1)
        held.append(members[:k])
        rest.append(members[k:])
    return torch.sort(torch.cat(rest)).values, torch.sort(torch.cat(held)).values
