"""Vectorised Sim(i, j) over a whole case library, top-k above a threshold.

Sim(i, j) = num_i / den_i with den_i = Σ_p w_p over case i's own attributes, which depends
only on the weights and is cached per weight version, together with the 'unknown' term of
the labs the query lacks. A query then touches only the packed columns of the symptoms and
labs it names, in compiled loops (``diagnosis.kernels``), so there is no per-case Python
loop. The numbers equal ``similarity.case_similarity`` (tests and the benchmark check it).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from diagnosis import kernels
from diagnosis.columns import F32, ONSET_CODE, ColumnStore, FArray
from diagnosis.packing import PackedColumns, offsets, pack
from diagnosis.similarity import (
    AttributeContribution,
    QueryFindings,
    case_similarity,
    first_by_name,
)
from hospital.emr.records import CaseRecord, LabValue, Symptom, lab_key, symptom_key

__all__ = ["CaseIndex", "Match", "MatchQuery"]


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """One query of a batch: the findings, how many cases and the threshold."""

    query: CaseRecord
    k: int = 10
    threshold: float = 0.0


class Match(NamedTuple):  # a tuple: cheaper to build than a frozen dataclass (k per query)
    """One library case above the threshold: its row, id and Sim(i, j)."""

    row: int
    case_id: str
    similarity: float


@dataclass(frozen=True, slots=True)
class _Weighted:
    """What one weight set gives the index, independent of any query (cached per version)."""

    ws: FArray  # w per symptom row
    wl: FArray  # w per lab row
    den: FArray  # Σ_p w_p per case
    unknown: FArray  # u·Σ_labs w_l per case
    den_positive: bool  # every case has a weighted attribute: divide without a mask


_TINY = float(np.finfo(F32).smallest_subnormal)  # the least float32 above 0
_Rows = tuple[dict[int, Symptom], dict[int, LabValue]]


class CaseIndex(ColumnStore):
    """The case library as columns, scored and ranked by the compiled kernels."""

    def _changed(self) -> None:
        super()._changed()
        self._weighted_cache: tuple[int, _Weighted] | None = None
        self._packed_cache: PackedColumns | None = None

    def weight_vectors(
        self, weights: Mapping[str, float], default: float = 1.0
    ) -> tuple[FArray, FArray]:
        """(w per symptom row, w per lab row) from an attribute-key → weight map."""
        ws = np.array([weights.get(symptom_key(s), default) for s in self.symptoms], dtype=F32)
        wl = np.array([weights.get(lab_key(name), default) for name in self.labs], dtype=F32)
        return ws, wl

    def _weighted(self, weights: Mapping[str, float], version: int | None) -> _Weighted:
        """The weight vectors and weight-only per-case terms; equal versions reuse them."""
        if version is not None and self._weighted_cache is not None:
            cached, weighted = self._weighted_cache
            if cached == version:
                return weighted
        ws, wl = self.weight_vectors(weights)
        n, f = self.n, self.config.facets
        recorded = (
            f.presence * self.present[:, :n]
            + f.duration * ~np.isnan(self.duration[:, :n])
            + f.onset * (self.onset[:, :n] >= 0)
            + f.severity * ~np.isnan(self.severity[:, :n])
        ).astype(F32)
        has_lab = (~np.isnan(self.lab_value[:, :n])).astype(F32)
        lab_w = wl @ has_lab
        den = (ws @ recorded + lab_w).astype(F32)
        unknown = (F32(self.config.unknown_similarity) * lab_w).astype(F32)
        weighted = _Weighted(ws, wl, den, unknown, bool((den > 0).all()))
        if version is not None:
            self._weighted_cache = (version, weighted)
        return weighted

    def denominators(self, weights: Mapping[str, float]) -> FArray:
        """Σ_p w_p over each case's own attributes."""
        return self._weighted(weights, None).den

    def _query_rows(self, query: CaseRecord) -> _Rows:
        syms = first_by_name(query.symptoms).items()
        labs = first_by_name(query.labs).items()
        qs = {self._sym_row[k]: s for k, s in syms if k in self._sym_row}
        ql = {self._lab_row[k]: v for k, v in labs if k in self._lab_row}
        return qs, ql

    @functools.cached_property
    def _phi(self) -> FArray:
        """(φ_p, φ_d, φ_s, φ_d·u, φ_s·u) as float32 for the kernels (the config is fixed)."""
        f, u = self.config.facets, F32(self.config.unknown_similarity)
        phi_d, phi_s = F32(f.duration), F32(f.severity)
        return np.array([F32(f.presence), phi_d, phi_s, phi_d * u, phi_s * u], dtype=F32)

    def _packed(self) -> PackedColumns:
        """The columns end to end for the kernels (rebuilt after the cases change)."""
        if self._packed_cache is None:
            self._packed_cache = pack(self)
        return self._packed_cache

    def _library(self, weighted: _Weighted) -> tuple[Any, ...]:
        p = self._packed()
        u = F32(self.config.unknown_similarity)
        return (
            *p.symptoms,
            *p.onsets,
            *p.labs,
            self._phi,
            u,
            weighted.unknown,
            weighted.den,
            weighted.den_positive,
        )

    def _findings(self, queries: Sequence[CaseRecord], weighted: _Weighted) -> tuple[Any, ...]:
        """The queries' findings as the kernels' flat arrays (one entry per known finding)."""
        s_off, s_row, s_mode, s_dur, s_onset, s_sev, s_w = [0], [], [], [], [], [], []
        l_off, l_row, l_val, l_range, l_w = [0], [], [], [], []
        unknown_onset = len(ONSET_CODE)
        for query in queries:
            qs, ql = self._query_rows(query)
            for r, s in qs.items():
                if s.duration_days is None:
                    mode, duration = kernels.DURATION_UNKNOWN, 0.0
                elif s.duration_days == 0:
                    mode, duration = kernels.DURATION_ZERO, 0.0
                else:  # a duration too small for float32 stays > 0 (0/0 would make Sim NaN)
                    mode, duration = kernels.DURATION_GIVEN, max(float(F32(s.duration_days)), _TINY)
                s_row.append(r)
                s_mode.append(mode)
                s_dur.append(duration)
                s_onset.append(ONSET_CODE.get(s.onset, unknown_onset))
                s_sev.append(np.nan if s.severity is None else s.severity)
                s_w.append(weighted.ws[r])
            s_off.append(len(s_row))
            for r, q in ql.items():
                low, high = q.normal_low, q.normal_high
                l_row.append(r)
                l_val.append(q.value)  # the query's range, else NaN: max(|a|, |b|) per case
                l_range.append(
                    high - low if low is not None and high is not None and high > low else np.nan
                )
                l_w.append(weighted.wl[r])
            l_off.append(len(l_row))
        i64 = np.int64
        return (
            np.array(s_off, dtype=i64),
            np.array(s_row, dtype=i64),
            np.array(s_mode, dtype=i64),
            np.array(s_dur, dtype=F32),
            np.array(s_onset, dtype=i64),
            np.array(s_sev, dtype=F32),
            np.array(s_w, dtype=F32),
            np.array(l_off, dtype=i64),
            np.array(l_row, dtype=i64),
            np.array(l_val, dtype=F32),
            np.array(l_range, dtype=F32),
            np.array(l_w, dtype=F32),
        )

    def scores(
        self, query: CaseRecord, weights: Mapping[str, float], *, version: int | None = None
    ) -> FArray:
        """Sim(i, query) for every indexed case i (0 for a case with no weighted attribute).

        ``version`` identifies the weight set: equal versions reuse the cached Σ w_p.
        """
        weighted = self._weighted(weights, version)
        out = np.empty(self.n, dtype=F32)
        kernels.scores(out, self._library(weighted), self._findings([query], weighted))
        return out

    def top_k(
        self,
        query: CaseRecord,
        weights: Mapping[str, float],
        *,
        k: int = 10,
        threshold: float = 0.0,
        exclude: Sequence[str] = (),
        version: int | None = None,
    ) -> list[Match]:
        """The k most similar cases with Sim ≥ threshold, best first.

        Equal Sim: the case that also records more (by weight) of the query's findings
        first, then the lower row.
        """
        rows = [r for cid in exclude if (r := self._row_of.get(cid)) is not None]
        weighted = self._weighted(weights, version)
        return self._top_k_batch([MatchQuery(query, k, threshold)], weighted, [rows])[0]

    def top_k_many(
        self,
        queries: Sequence[MatchQuery],
        weights: Mapping[str, float],
        *,
        version: int | None = None,
    ) -> list[list[Match]]:
        """``top_k`` for several queries under one weight set, in one call of the kernels."""
        weighted = self._weighted(weights, version)
        return self._top_k_batch(queries, weighted, [[] for _ in queries])

    def _top_k_batch(
        self, queries: Sequence[MatchQuery], weighted: _Weighted, exclude: list[list[int]]
    ) -> list[list[Match]]:
        if not queries:
            return []
        ex_off = offsets([len(e) for e in exclude])
        ex_rows = np.array([r for e in exclude for r in e], dtype=np.int64)
        p = self._packed()
        rows, sims, off = kernels.top_k_batch(
            self._library(weighted),
            self._findings([q.query for q in queries], weighted),
            p.present,
            p.lab_value,
            np.array([q.k for q in queries], dtype=np.int64),
            np.array([q.threshold for q in queries], dtype=F32),
            ex_off,
            ex_rows,
        )
        ids, found, scores, bounds = self.case_ids, rows.tolist(), sims.tolist(), off.tolist()
        return [
            [Match(r, ids[r], s) for r, s in zip(found[a:b], scores[a:b], strict=True)]
            for a, b in zip(bounds, bounds[1:], strict=False)
        ]

    def contributions(
        self, row: int, query: CaseRecord | QueryFindings, weights: Mapping[str, float]
    ) -> list[AttributeContribution]:
        """Each attribute of case ``row``: w_p, Sim(i_p, j_p) and its share w_p·Sim / Σ w."""
        case = self.features_of(row)
        return list(case_similarity(case, query, weights, self.config).contributions)
