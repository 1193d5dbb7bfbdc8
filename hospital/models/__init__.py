"""Patent module 3, the local model: BP (MLP) and VGG-pattern networks from V1 to V2."""

from hospital.models.factory import build_model, use_deterministic_torch
from hospital.models.heads import Outputs, head_loss, head_probabilities
from hospital.models.networks import BPNetwork, MultiHeadNetwork, VGGNetwork
from hospital.models.specs import VGG11_PATTERN, BPSpec, HeadKind, HeadSpec, ModelSpec, VGGSpec

__all__ = [
    "VGG11_PATTERN",
    "BPNetwork",
    "BPSpec",
    "HeadKind",
    "HeadSpec",
    "ModelSpec",
    "MultiHeadNetwork",
    "Outputs",
    "VGGNetwork",
    "VGGSpec",
    "build_model",
    "head_loss",
    "head_probabilities",
    "use_deterministic_torch",
]
