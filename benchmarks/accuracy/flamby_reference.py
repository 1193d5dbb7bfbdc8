"""FLamby's published Fed-Heart-Disease accuracies (../shared/data/flamby), for the table."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from dataclasses import dataclass

from benchmarks.accuracy.heart_data import shared_data_dir


@dataclass(frozen=True)
class Published:
    """Mean of the four centres' test accuracy (mean ± pstd over 5 seeds) and per centre."""

    mean: float
    std: float
    per_centre: tuple[float, float, float, float]


def load_published() -> dict[str, Published]:
    """Method name → published figures, from FLamby's per-seed CSVs; 'Local' = own centre."""
    by = defaultdict(lambda: defaultdict(dict))  # method -> seed -> centre -> acc
    flamby = shared_data_dir() / "flamby"
    for path in sorted(flamby.glob("heart_seed*.csv")):
        for row in csv.DictReader(path.open()):
            if row["Test"].startswith("client_test_"):
                by[row["Method"]][row["seed"]][int(row["Test"][-1])] = float(row["Metric"])
    out: dict[str, Published] = {}
    for method, seeds in by.items():
        means = [statistics.fmean(c.values()) for c in seeds.values()]
        centre = tuple(statistics.fmean(s[k] for s in seeds.values()) for k in range(4))
        out[method] = Published(statistics.fmean(means), statistics.pstdev(means), centre)  # type: ignore[arg-type]
    local = [out[f"Local {k}"].per_centre[k] for k in range(4)]
    seed_means = [statistics.fmean(by[f"Local {k}"][s][k] for k in range(4)) for s in by["Local 0"]]
    out["Local (own centre)"] = Published(
        statistics.fmean(local), statistics.pstdev(seed_means), tuple(local)
    )  # type: ignore[arg-type]
    return out
