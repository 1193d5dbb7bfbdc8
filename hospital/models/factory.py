"""Build a model from its spec and a seed, bit-identically on every hospital."""

from __future__ import annotations

import torch

from hospital.models.networks import BPNetwork, MultiHeadNetwork, VGGNetwork
from hospital.models.specs import BPSpec, VGGSpec


def build_model(spec: BPSpec | VGGSpec, seed: int) -> MultiHeadNetwork:
    """A freshly initialised network for ``spec``; the same (spec, seed) gives the same weights.

    The caller's global torch RNG is left untouched: initialisation runs inside a forked
    RNG state seeded with ``seed``.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(spec, BPSpec):
            return BPNetwork(spec)
        return VGGNetwork(spec)


def use_deterministic_torch(threads: int = 1) -> None:
    """Make torch reproducible in this process: deterministic kernels, a fixed thread count.

    Call once at a process entry point (round client, benchmark, test session). The thread
    count matters too: a CPU reduction split over a different number of threads may sum in
    a different order.
    """
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
