"""Models as flat float32 vectors: the update Δ = w_local − w_global and applying a new global.

Parameter order (what every hospital and the aggregate agree on): the tensors of
``model.named_parameters()`` in that order — module registration order, which for the
networks in ``hospital.models`` is trunk/features first, then classifier, then the heads in
the order of the spec — each tensor flattened row-major (C order) and concatenated.
Buffers are not included (the networks have none that learn). ``layout_digest`` hashes
the names and shapes, so two parties can check they mean the same order before summing.
"""

from __future__ import annotations

import hashlib

import torch
from torch import Tensor, nn

from node.errors import ValidationFailed


def parameter_layout(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of each parameter, in the flat vector's order."""
    return [(name, tuple(p.shape)) for name, p in model.named_parameters()]


def layout_digest(model: nn.Module) -> str:
    """SHA-256 (hex) of the parameter layout; equal digests mean vectors line up."""
    text = ";".join(f"{n}:{'x'.join(map(str, shape))}" for n, shape in parameter_layout(model))
    return hashlib.sha256(text.encode()).hexdigest()


def parameter_count(model: nn.Module) -> int:
    """Length of the model's flat vector."""
    return sum(p.numel() for p in model.parameters())


def flatten(model: nn.Module) -> Tensor:
    """The model's parameters as one detached 1-D float32 vector (a copy)."""
    with torch.no_grad():
        return torch.cat([p.detach().reshape(-1).to(torch.float32) for p in model.parameters()])


def load_flat(model: nn.Module, vector: Tensor) -> None:
    """Overwrite the model's parameters with ``vector`` (in the documented order), in place."""
    expected = parameter_count(model)
    if vector.dim() != 1 or vector.numel() != expected:
        raise ValidationFailed(
            f"flat parameter vector has shape {tuple(vector.shape)}, the model needs ({expected},)",
            field="vector",
            fix="build the model from the same spec the vector was made with",
        )
    if not bool(torch.isfinite(vector).all()):
        raise ValidationFailed(
            "flat parameter vector contains NaN or infinity",
            field="vector",
            fix="refuse this update; recompute it from finite values",
        )
    offset = 0
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            p.copy_(vector[offset : offset + n].view_as(p))
            offset += n


def model_delta(local: nn.Module, global_model: nn.Module) -> Tensor:
    """Δ = w_local − w_global as a flat float32 vector; both models must share a layout."""
    if parameter_layout(local) != parameter_layout(global_model):
        raise ValidationFailed(
            "local and global models have different parameter layouts",
            field="model",
            fix="train the local model from a copy of the global model",
        )
    return flatten(local) - flatten(global_model)


def apply_delta(model: nn.Module, delta: Tensor) -> None:
    """W ← w + Δ in place (used to check round trips and by FedAvg with server lr 1)."""
    load_flat(model, flatten(model) + delta.to(torch.float32))
