"""FLamby's Fed-Heart-Disease preprocessing, reimplemented for the benchmark (not product code).

Protocol (../shared/data/flamby/SUMMARY.txt, FLamby dataset.py): drop slope/ca/thal
(columns 10-12), drop rows with any '?', one-hot cp (col 2) and restecg (col 6) with the
first category dropped (categories taken over all four centres), label num > 0, per
centre train_test_split(train_size=0.66, test_size=1-0.66, random_state=43, shuffle,
stratified by the binary label when each class has > 2 rows), z-score each centre with
its own training mean and (unbiased) std + 1e-9; pooled training uses pooled-train
statistics while each centre's test set keeps its own, as in FLamby.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from hospital.training import LocalData

CENTRES = ("cleveland", "hungarian", "switzerland", "va")
HEAD = "disease"
NUMERIC_COLUMNS = (0, 1, 3, 4, 5, 7, 8, 9)  # age sex trestbps chol fbs thalach exang oldpeak
EXPECTED_SIZES = {
    "cleveland": (199, 104),
    "hungarian": (172, 89),
    "switzerland": (30, 16),
    "va": (85, 45),
}


def shared_data_dir() -> Path:
    """../shared/data beside the repository (benchmarks may read it; the product may not).

    A git worktree may sit one level deeper (e.g. /work/wt/<branch>), so the nearest
    ancestor holding shared/data wins.
    """
    repo = Path(__file__).resolve().parents[2]
    for parent in repo.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    raise FileNotFoundError(f"no shared/data beside {repo} or its parents")


def _read_centre(path: Path) -> np.ndarray:
    rows = []
    for line in path.read_text().splitlines():
        cells = line.strip().split(",")
        if len(cells) != 14:
            continue
        kept = cells[:10] + cells[13:]
        if "?" in kept:
            continue
        rows.append([float(c) for c in kept])
    return np.asarray(rows, dtype=np.float64)  # 10 features + num


@dataclass(frozen=True)
class HeartCentre:
    """One centre's raw (unnormalised) 13-feature split, in FLamby's row order."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_heart(data_dir: Path | None = None) -> list[HeartCentre]:
    """The four centres, split exactly as FLamby does; checks FLamby's published sizes."""
    heart = (data_dir or shared_data_dir()) / "heart"
    raw = {c: _read_centre(heart / f"processed.{c}.data") for c in CENTRES}
    all_rows = np.concatenate(list(raw.values()))
    cp_levels = np.unique(all_rows[:, 2])[1:]  # drop_first
    ecg_levels = np.unique(all_rows[:, 6])[1:]
    centres = []
    for name, rows in raw.items():
        x = np.concatenate(
            [
                rows[:, list(NUMERIC_COLUMNS)],
                (rows[:, [2]] == cp_levels).astype(np.float64),
                (rows[:, [6]] == ecg_levels).astype(np.float64),
            ],
            axis=1,
        )
        y = (rows[:, 10] > 0).astype(np.float64)
        levels = np.unique(y)
        stratify = y if len(levels) > 1 and all((y == v).sum() > 2 for v in levels) else None
        idx_train, idx_test = train_test_split(
            np.arange(len(y)),
            test_size=1.0 - 0.66,
            train_size=0.66,
            random_state=43,
            shuffle=True,
            stratify=stratify,
        )
        test_mask = np.isin(np.arange(len(y)), idx_test)  # FLamby keeps file order
        centre = HeartCentre(name, x[~test_mask], y[~test_mask], x[test_mask], y[test_mask])
        if (len(centre.y_train), len(centre.y_test)) != EXPECTED_SIZES[name]:
            raise RuntimeError(f"{name}: split sizes differ from FLamby's {EXPECTED_SIZES[name]}")
        centres.append(centre)
    if centres[0].x_train.shape[1] != 13:
        raise RuntimeError("FLamby's protocol gives 13 features")
    return centres


def _standardise(x: np.ndarray, reference: np.ndarray) -> torch.Tensor:
    ref = torch.from_numpy(reference.astype(np.float32))
    mean, std = ref.mean(dim=0), ref.std(dim=0)  # torch std is unbiased, as in FLamby
    return (torch.from_numpy(x.astype(np.float32)) - mean) / (std + 1e-9)


def _data(x: torch.Tensor, y: np.ndarray) -> LocalData:
    return LocalData(x, {HEAD: torch.from_numpy(y.astype(np.float32))})


def federated_splits(centres: list[HeartCentre]) -> tuple[list[LocalData], list[LocalData]]:
    """Per-centre (train, test) LocalData, each normalised with its centre's train statistics."""
    train = [_data(_standardise(c.x_train, c.x_train), c.y_train) for c in centres]
    test = [_data(_standardise(c.x_test, c.x_train), c.y_test) for c in centres]
    return train, test


def pooled_train(centres: list[HeartCentre]) -> LocalData:
    """All training rows, normalised with pooled-train statistics (FLamby's pooled setting)."""
    x = np.concatenate([c.x_train for c in centres])
    y = np.concatenate([c.y_train for c in centres])
    return _data(_standardise(x, x), y)
