"""Tiny models and data shared by the training tests, as fixtures."""

from collections.abc import Callable

import pytest
import torch

from hospital.models import BPSpec, HeadKind, HeadSpec, use_deterministic_torch
from hospital.training import LocalData


@pytest.fixture(autouse=True, scope="session")
def _deterministic_torch() -> None:
    # The machine's cores are shared: one torch thread, deterministic kernels.
    use_deterministic_torch(threads=1)


@pytest.fixture
def spec() -> BPSpec:
    """A 4 -> 8 -> 1 BP network with one binary head."""
    return BPSpec(
        input_dim=4, hidden=(8,), heads=(HeadSpec(name="disease", kind=HeadKind.BINARY, size=1),)
    )


def _separable(n: int, seed: int, shift: float = 0.0) -> LocalData:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    score = x @ torch.tensor([1.5, -1.0, 0.5, 0.0]) + shift
    return LocalData(x, {"disease": (score > 0).float()})


@pytest.fixture
def make_data() -> Callable[..., LocalData]:
    """make_data(n, seed, shift=0): labels are the sign of a fixed linear score plus shift."""
    return _separable
