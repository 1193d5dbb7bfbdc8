"""Synthetic case libraries generated straight into index columns (fast at 1M cases)."""

from __future__ import annotations

import numpy as np

from diagnosis.columns import CaseColumns
from diagnosis.similarity import KNOWN_ONSETS
from hospital.emr.records import CaseRecord

N_SYMPTOMS, N_LABS, N_DISEASES = 64, 8, 40
PROFILE_SIZE = 6


class Generator:
    """Disease profiles over a symptom and lab vocabulary; draws cases column-wise."""

    def __init__(self, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.symptoms = [f"sym_{i:02d}" for i in range(N_SYMPTOMS)]
        self.labs = [f"lab_{i}" for i in range(N_LABS)]
        self.p = np.full((N_DISEASES, N_SYMPTOMS), 0.02)
        for d in range(N_DISEASES):
            self.p[d, rng.choice(N_SYMPTOMS, PROFILE_SIZE, replace=False)] = rng.uniform(
                0.5, 0.95, PROFILE_SIZE
            )
        self.days = rng.lognormal(1.0, 1.0, (N_DISEASES, N_SYMPTOMS))
        self.onset = rng.integers(0, len(KNOWN_ONSETS), (N_DISEASES, N_SYMPTOMS))
        self.sev = rng.uniform(2, 9, (N_DISEASES, N_SYMPTOMS))
        self.lab_mean = rng.normal(0, 2, (N_DISEASES, N_LABS))
        self.width = rng.uniform(1, 3, N_LABS)

    def columns(self, n: int, seed: int, chunk: int = 100_000) -> CaseColumns:
        """``n`` cases (float32 columns), generated in chunks to bound temporary memory."""
        rng = np.random.default_rng(seed)
        s, labs = N_SYMPTOMS, N_LABS
        present = np.zeros((s, n), bool)
        duration = np.full((s, n), np.nan, np.float32)
        onset = np.full((s, n), -1, np.int8)
        severity = np.full((s, n), np.nan, np.float32)
        lab_value = np.full((labs, n), np.nan, np.float32)
        lab_width = np.full((labs, n), np.nan, np.float32)
        disease = rng.integers(0, N_DISEASES, n)
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            d = disease[a:b]
            pres = rng.random((s, b - a)) < self.p[d].T
            present[:, a:b] = pres
            dur = (self.days[d].T * rng.lognormal(0, 0.4, (s, b - a))).astype(np.float32)
            duration[:, a:b] = np.where(pres & (rng.random((s, b - a)) < 0.9), dur, np.nan)
            noisy = np.where(
                rng.random((s, b - a)) < 0.8, self.onset[d].T, rng.integers(0, 6, (s, b - a))
            )
            onset[:, a:b] = np.where(pres & (rng.random((s, b - a)) < 0.85), noisy, -1)
            sev = (
                np.clip(self.sev[d].T + rng.normal(0, 1.2, (s, b - a)), 0, 10)
                .round()
                .astype(np.float32)
            )
            severity[:, a:b] = np.where(pres & (rng.random((s, b - a)) < 0.9), sev, np.nan)
            has_lab = rng.random((labs, b - a)) < 0.6
            val = (self.lab_mean[d].T + rng.normal(0, 0.7, (labs, b - a))).astype(np.float32)
            lab_value[:, a:b] = np.where(has_lab, val, np.nan)
            lab_width[:, a:b] = np.where(has_lab, self.width[:, None], np.nan)
        return CaseColumns(
            symptoms=self.symptoms,
            labs=self.labs,
            present=present,
            duration=duration,
            onset=onset,
            severity=severity,
            lab_value=lab_value,
            lab_width=lab_width,
            case_ids=[f"s{i}" for i in range(n)],
            diseases=[f"D{x:02d}" for x in disease],
            validated=np.zeros(n, bool),
        )


def queries(gen: Generator, count: int, seed: int) -> list[CaseRecord]:
    """Feature-only query cases drawn from the same profiles."""
    from diagnosis.index import CaseIndex

    idx = CaseIndex.from_columns(gen.columns(count, seed))
    return [idx.features_of(i) for i in range(count)]


def model_like_weights(gen: Generator, seed: int) -> dict[str, float]:
    """Non-uniform weights of the shape a model importance map has (mean about 1)."""
    rng = np.random.default_rng(seed)
    keys = [f"symptom:{s}" for s in gen.symptoms] + [f"lab:{x}" for x in gen.labs]
    return {k: float(w) for k, w in zip(keys, rng.gamma(4.0, 0.25, len(keys)), strict=True)}
