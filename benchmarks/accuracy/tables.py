"""Plain-text tables for the accuracy benchmark (markdown, so they paste into notes)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from benchmarks.accuracy.flamby_reference import Published
from benchmarks.accuracy.heart import HeartReport, Scores

FLAMBY_ROW = {
    "local only": "Local (own centre)",
    "pooled": "Pooled Training",
    "FedAvg (plaintext)": "FedAvg100",
    "FedAvg (8-bit)": "FedAvg100",
    "FedAvg (Paillier)": "FedAvg100",
    "FedYogi (Paillier)": "FedYogi100",
}


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _centre_means(values: list[list[float]]) -> list[float]:
    return [statistics.fmean(v[k] for v in values) for k in range(len(values[0]))]


def _seed_means(values: list[list[float]]) -> list[float]:
    return [statistics.fmean(v) for v in values]


def _nanmean(values: list[list[float]]) -> float:
    flat = [x for v in values for x in v if not math.isnan(x)]
    return statistics.fmean(flat) if flat else float("nan")


def heart_table(
    report: HeartReport, published: dict[str, Published], centres: Sequence[str]
) -> str:
    """Per-centre test accuracy, mean ± std over seeds, balanced accuracy, AUC, FLamby beside."""
    header = ["method", *centres, "mean acc ± sd", "bal. acc", "AUC", "FLamby mean", "ratio"]
    rows = []
    for name, s in report.methods.items():
        per = _centre_means(s.acc)
        seeds = _seed_means(s.acc)
        sd = statistics.pstdev(seeds) if len(seeds) > 1 else 0.0
        ref = published.get(FLAMBY_ROW.get(name, ""))
        mean = statistics.fmean(seeds)
        rows.append(
            [
                name,
                *(f"{a:.3f}" for a in per),
                f"{mean:.3f} ± {sd:.3f}",
                f"{statistics.fmean(_seed_means(s.bal)):.3f}",
                f"{_nanmean(s.auc):.3f}",
                f"{ref.mean:.3f}" if ref else "—",
                f"{mean / ref.mean:.2f}" if ref else "—",
            ]
        )
    return markdown(header, rows)


def flamby_per_centre(published: dict[str, Published], centres: Sequence[str]) -> str:
    """FLamby's per-centre accuracies for the rows we compare against."""
    rows = [
        [k, *(f"{a:.3f}" for a in p.per_centre), f"{p.mean:.3f} ± {p.std:.3f}"]
        for k, p in published.items()
        if k in set(FLAMBY_ROW.values()) | {"FedAdam100"}
    ]
    return markdown(["FLamby (published)", *centres, "mean ± sd"], rows)


def targets(report: HeartReport, headline: str) -> str:
    """The issue's two targets, checked for the pre-declared headline method."""
    head = report.methods[headline]
    local = _centre_means(report.methods["local only"].acc)
    per = _centre_means(head.acc)
    mean = statistics.fmean(_seed_means(head.acc))
    worse = [k for k, (a, b) in enumerate(zip(per, local, strict=True)) if a < b]
    return (
        f"target check for: {headline}\n"
        f"  mean of the four centres {mean:.3f} >= 0.74: {'yes' if mean >= 0.74 else 'NO'}\n"
        f"  every centre >= its local-only accuracy: "
        f"{'yes' if not worse else 'NO (centres ' + str(worse) + ')'}"
    )


def per_seed(scores: Scores) -> str:
    """The 4-centre mean accuracy of each seed, for the record."""
    return ", ".join(f"{m:.3f}" for m in _seed_means(scores.acc))


def crypto_table(report: HeartReport) -> str:
    """What the real encrypted path cost in the final runs (all seeds together)."""
    rows = []
    for name, c in report.crypto.items():
        per_update = c.update_bytes / max(c.updates, 1)
        rows.append(
            [
                name,
                str(c.rounds),
                str(c.updates),
                f"{per_update / 1024:.1f} KiB",
                f"{c.encrypt_s / max(c.updates, 1) * 1000:.0f} ms",
                f"{c.sum_s:.1f} s",
                f"{c.decrypt_s / max(c.rounds, 1) * 1000:.0f} ms",
                f"{c.max_error_bound:.1e}",
            ]
        )
    return markdown(
        [
            "encrypted method",
            "rounds",
            "updates",
            "bytes/update",
            "encrypt/update",
            "sums (total)",
            "threshold decrypt/round",
            "mean-update error bound",
        ],
        rows,
    )
