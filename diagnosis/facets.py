"""The facet terms of a symptom column that do not depend on a query's values (for CaseIndex)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from diagnosis.columns import F32, FArray, SymptomColumn
from diagnosis.similarity import SEVERITY_SCALE, SimilarityConfig

__all__ = ["FacetTerms", "facet_terms"]


@dataclass(frozen=True, slots=True)
class FacetTerms:
    """φ-weighted facet terms of one symptom column that do not depend on the query's values.

    ``presence_unknown_duration`` and ``presence_zero_duration`` already hold φ_p plus the
    duration term (query duration unknown, or 0 days); ``onset[c]`` is φ_o·Sim(onset) for
    query onset code c, the last entry for an unknown query onset.

    ``duration`` is the column with 0 for "not recorded" when every recorded duration is
    ≥ 0: against a query duration q > 0 a 0 scores 1 − q/q = 0, exactly what NaN scored, and
    0 ≤ |d − q| ≤ max(d, q) keeps every Sim in [0, 1] without a clamp (rounding is
    monotone). ``clamp_*`` says a facet still needs fmax(Sim, 0) (NaN or out-of-range data).
    """

    presence_unknown_duration: FArray
    presence_zero_duration: FArray
    onset: tuple[FArray, ...]
    unknown_severity: FArray
    duration: FArray
    clamp_duration: bool
    clamp_severity: bool


def facet_terms(col: SymptomColumn, config: SimilarityConfig, onsets: FArray) -> FacetTerms:
    """The ``FacetTerms`` of one column (the same float32 expressions as a query's)."""
    f, u = config.facets, F32(config.unknown_similarity)
    d, v = col.duration, col.severity
    presence = np.full(col.rows.size, F32(f.presence), dtype=F32)
    codes = col.onset.astype(np.intp) + 1
    onset = [  # table[0] = 0 for a case without onset (code −1)
        F32(f.onset) * np.concatenate([[F32(0)], onsets[:, c]])[codes]
        for c in range(onsets.shape[1])
    ]
    onset.append(F32(f.onset) * u * (col.onset >= 0))
    recorded = d[~np.isnan(d)]
    clamp_duration = not bool(((recorded >= 0) & np.isfinite(recorded)).all())
    return FacetTerms(
        presence_unknown_duration=_f32(presence + F32(f.duration) * u * ~np.isnan(d)),
        presence_zero_duration=_f32(presence + F32(f.duration) * (d == 0)),
        onset=tuple(_f32(o) for o in onset),
        unknown_severity=_f32(F32(f.severity) * u * ~np.isnan(v)),
        duration=d if clamp_duration else np.nan_to_num(d, nan=0.0),
        clamp_duration=clamp_duration,
        clamp_severity=not bool(((v >= 0) & (v <= SEVERITY_SCALE)).all()),
    )


def _f32(a: npt.NDArray[Any]) -> FArray:
    return np.asarray(a, dtype=F32)  # already float32: no copy (a type for mypy)
