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
from typing import NamedTuple

import numpy as np

from diagnosis import kernels
from diagnosis.columns import (
    F32,
    ONSET_CODE,
    ColumnStore,
    FArray,
    IArray,
    SymptomColumn,
)
from diagnosis.similarity import (
    AttributeContribution,
    QueryFindings,
    case_similarity,
    first_by_name,
)
from hospital.emr.records import CaseRecord, LabValue, Onset, Symptom

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


_ZERO, _NAN, _TINY = F32(0), F32(np.nan), np.finfo(F32).smallest_subnormal
_Rows = tuple[dict[int, Symptom], dict[int, LabValue]]


class CaseIndex(ColumnStore):
    """The case library as columns, scored against a query one finding's column at a time."""

    def _changed(self) -> None:
        super()._changed()
        self._weighted_cache: tuple[int, _Weighted] | None = None
        self._onset_terms: dict[tuple[int, Onset], FArray] = {}

    def weight_vectors(
        self, weights: Mapping[str, float], default: float = 1.0
    ) -> tuple[FArray, FArray]:
        """(w per symptom row, w per lab row) from an attribute-key → weight map."""
        ws = np.array([weights.get(f"symptom:{s}", default) for s in self.symptoms], dtype=F32)
        wl = np.array([weights.get(f"lab:{name}", default) for name in self.labs], dtype=F32)
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
        """(φ_p, φ_d, φ_s, φ_d·u, φ_s·u) as float32 for ``kernels.add_symptom`` (fixed config)."""
        f, u = self.config.facets, F32(self.config.unknown_similarity)
        phi_d, phi_s = F32(f.duration), F32(f.severity)
        return np.array([F32(f.presence), phi_d, phi_s, phi_d * u, phi_s * u], dtype=F32)

    @functools.cached_property
    def _onset_tables(self) -> dict[Onset, FArray]:
        """φ_o·Sim(case onset, query onset) by query onset, indexed by case onset code + 1."""
        phi_o, u = F32(self.config.facets.onset), F32(self.config.unknown_similarity)
        m = self._onset_matrix  # [case onset code, query onset code]; entry 0: no onset
        tables = {o: phi_o * np.concatenate([[_ZERO], m[:, c]]) for o, c in ONSET_CODE.items()}
        tables[Onset.UNKNOWN] = phi_o * u * np.concatenate([[_ZERO], np.ones(len(m), dtype=F32)])
        return tables

    def _onset_term(self, r: int, col: SymptomColumn, onset: Onset) -> FArray:
        """φ_o·Sim(onset) of symptom row r's cases against a query onset (cached per pair)."""
        key = (r, onset)
        term = self._onset_terms.get(key)
        if term is None:
            term = self._onset_tables[onset][col.onset.astype(np.intp) + 1]
            self._onset_terms[key] = term
        return term

    def _add_symptom(self, num: FArray, r: int, s: Symptom, w: np.float32) -> None:
        """Add w·Σ_f φ_f·Sim_f to the numerators of the cases having symptom row r."""
        col = self.symptom_column(r)
        if s.duration_days is None:
            mode, q_duration = kernels.DURATION_UNKNOWN, _ZERO
        elif s.duration_days == 0:
            mode, q_duration = kernels.DURATION_ZERO, _ZERO
        else:  # a duration too small for float32 stays > 0 (0/0 would make Sim NaN)
            mode = kernels.DURATION_GIVEN
            q_duration = max(F32(s.duration_days), _TINY)
        terms = np.empty(col.rows.size, dtype=F32)
        kernels.symptom_terms(
            terms, col.duration, self._onset_term(r, col, s.onset), col.severity, self._phi,
            mode, q_duration, _NAN if s.severity is None else F32(s.severity), w,
            col.clamp_duration, col.clamp_severity,
        )  # fmt: skip
        kernels.scatter_add(num, col.rows, terms)

    def _add_lab(self, num: FArray, r: int, q: LabValue, w: np.float32) -> None:
        """Add w·(Sim_lab − u) to the numerators of the cases having lab row r."""
        col = self.lab_column(r)
        fallback = _NAN  # without a query range: max(|a|, |b|), case by case
        if q.normal_low is not None and q.normal_high is not None:
            if q.normal_high > q.normal_low:
                fallback = F32(q.normal_high - q.normal_low)
        terms = np.empty(col.rows.size, dtype=F32)
        kernels.lab_terms(
            terms, col.value, col.width, F32(q.value), fallback, col.any_missing_width,
            F32(self.config.unknown_similarity), w,
        )  # fmt: skip
        kernels.scatter_add(num, col.rows, terms)

    def scores(
        self, query: CaseRecord, weights: Mapping[str, float], *, version: int | None = None
    ) -> FArray:
        """Sim(i, query) for every indexed case i (0 for a case with no weighted attribute).

        ``version`` identifies the weight set: equal versions reuse the cached Σ w_p.
        """
        return self._scores(self._query_rows(query), self._weighted(weights, version))

    def _scores(self, rows: _Rows, weighted: _Weighted) -> FArray:
        ws, wl = weighted.ws, weighted.wl
        num = weighted.unknown.copy()  # every lab counts u·w_l until the query names it
        qs, ql = rows
        for r, s in qs.items():
            if ws[r] != 0:
                self._add_symptom(num, r, s, ws[r])
        for r, q in ql.items():
            if wl[r] != 0:
                self._add_lab(num, r, q, wl[r])
        return kernels.divide(num, weighted.den, weighted.den_positive)

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
        return self._top_k(query, self._weighted(weights, version), k, threshold, exclude)

    def top_k_many(
        self,
        queries: Sequence[MatchQuery],
        weights: Mapping[str, float],
        *,
        version: int | None = None,
    ) -> list[list[Match]]:
        """``top_k`` for several queries under one weight set (one snapshot, one lock)."""
        weighted = self._weighted(weights, version)
        return [self._top_k(q.query, weighted, q.k, q.threshold) for q in queries]

    def _top_k(
        self,
        query: CaseRecord,
        weighted: _Weighted,
        k: int,
        threshold: float,
        exclude: Sequence[str] = (),
    ) -> list[Match]:
        if self.n == 0 or k <= 0:
            return []
        rows = self._query_rows(query)
        sims = self._scores(rows, weighted)
        return self._best(sims, rows, weighted, k=k, threshold=threshold, exclude=exclude)

    def _best(
        self,
        sims: FArray,
        rows: _Rows,
        weighted: _Weighted,
        *,
        k: int,
        threshold: float,
        exclude: Sequence[str] = (),
    ) -> list[Match]:
        """Top k of one query's scores (modified in place for ``exclude``)."""
        for cid in exclude:
            row = self._row_of.get(cid)
            if row is not None:
                sims[row] = -np.inf
        found = kernels.best_first(sims, k, F32(threshold))
        if found is None:  # a NaN score (not from records): numpy's order, NaN last
            floor = F32(threshold)
            if k < self.n:
                floor = max(np.partition(sims, self.n - k)[self.n - k], floor)
            cand, ties = np.flatnonzero(sims >= floor), True
        else:
            cand, ties = found
        if ties:  # equal Sim: the case recording more of the query first, then the lower row
            cover = self._coverage(rows, weighted, cand)
            cand = cand[np.lexsort((cand, -cover, -sims[cand]))]
        best, ids = cand[:k], self.case_ids
        scores = sims[best].tolist()
        return [Match(r, ids[r], s) for r, s in zip(best.tolist(), scores, strict=True)]

    def _coverage(self, rows: _Rows, weighted: _Weighted, cases: IArray) -> FArray:
        """Σ w of the query's findings each case also records: breaks ties of equal Sim.

        The patent's sum runs over the library case's attributes only, so a case whose few
        findings all occur in the query scores 1 however much of the query it leaves out;
        among equals, the case that accounts for more of the query ranks first.
        """
        qs, ql = rows
        cover = np.zeros(cases.size, dtype=F32)
        for r in qs:
            cover += weighted.ws[r] * self.present[r, cases]
        for r in ql:
            cover += weighted.wl[r] * ~np.isnan(self.lab_value[r, cases])
        return cover

    def contributions(
        self, row: int, query: CaseRecord | QueryFindings, weights: Mapping[str, float]
    ) -> list[AttributeContribution]:
        """Each attribute of case ``row``: w_p, Sim(i_p, j_p) and its share w_p·Sim / Σ w."""
        case = self.features_of(row)
        return list(case_similarity(case, query, weights, self.config).contributions)
