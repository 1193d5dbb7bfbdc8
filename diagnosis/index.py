"""Vectorised Sim(i, j) over a whole case library, top-k above a threshold.

Sim(i, j) = num_i / den_i with den_i = Σ_p w_p over case i's own attributes, which depends
only on the weights and is cached per weight version, together with the 'unknown' term of
the labs the query lacks. A query then touches only the packed columns of the symptoms and
labs it names, so there is no per-case Python loop. The numbers equal
``similarity.case_similarity`` (tests and the benchmark check it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from diagnosis.columns import (
    F32,
    ONSET_CODE,
    ColumnStore,
    FArray,
    IArray,
    LabColumn,
    SymptomColumn,
)
from diagnosis.similarity import (
    SEVERITY_SCALE,
    Contribution,
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


@dataclass(frozen=True, slots=True)
class Match:
    """One library case above the threshold: its row, id and Sim(i, j)."""

    row: int
    case_id: str
    similarity: float


class CaseIndex(ColumnStore):
    """The case library as columns, scored against a query in one pass of numpy."""

    def _changed(self) -> None:
        super()._changed()
        self._base_cache: tuple[int, FArray, FArray] | None = None

    def weight_vectors(
        self, weights: Mapping[str, float], default: float = 1.0
    ) -> tuple[FArray, FArray]:
        """(w per symptom row, w per lab row) from an attribute-key → weight map."""
        ws = np.array([weights.get(f"symptom:{s}", default) for s in self.symptoms], dtype=F32)
        wl = np.array([weights.get(f"lab:{name}", default) for name in self.labs], dtype=F32)
        return ws, wl

    def _base(self, ws: FArray, wl: FArray, version: int | None) -> tuple[FArray, FArray]:
        """(Σ_p w_p per case, u·Σ_labs w_l per case): weight-only terms, cached per version."""
        if version is not None and self._base_cache is not None:
            cached, den, unknown = self._base_cache
            if cached == version:
                return den, unknown
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
        if version is not None:
            self._base_cache = (version, den, unknown)
        return den, unknown

    def denominators(self, weights: Mapping[str, float]) -> FArray:
        """Σ_p w_p over each case's own attributes."""
        return self._base(*self.weight_vectors(weights), None)[0]

    def _query_rows(self, query: CaseRecord) -> tuple[dict[int, Symptom], dict[int, LabValue]]:
        syms = first_by_name(query.symptoms).items()
        labs = first_by_name(query.labs).items()
        qs = {self._sym_row[k]: s for k, s in syms if k in self._sym_row}
        ql = {self._lab_row[k]: v for k, v in labs if k in self._lab_row}
        return qs, ql

    def _symptom_part(self, col: SymptomColumn, s: Symptom) -> FArray:
        """Σ_f φ_f·Sim_f over the facets each case records, for the cases having the symptom."""
        f, u = self.config.facets, F32(self.config.unknown_similarity)
        part = np.full(col.rows.size, F32(f.presence), dtype=F32)
        d = col.duration
        if s.duration_days is None:
            part += F32(f.duration) * u * ~np.isnan(d)
        elif s.duration_days == 0:
            part += F32(f.duration) * (d == 0)
        else:  # max(d, q) ≥ q > 0: no division by zero; NaN (not recorded) → 0
            q = F32(s.duration_days)
            sim = 1 - np.abs(d - q) / np.maximum(d, q)  # in [0, 1] or NaN: fmax(NaN, 0) = 0
            part += F32(f.duration) * np.fmax(sim, F32(0))
        if s.onset is Onset.UNKNOWN:
            part += F32(f.onset) * u * (col.onset >= 0)
        else:  # table[0] = 0 for a case without onset (code −1)
            table = np.concatenate([[F32(0)], self._onset_matrix[:, ONSET_CODE[s.onset]]])
            part += F32(f.onset) * table[col.onset.astype(np.intp) + 1]
        v = col.severity
        if s.severity is None:
            part += F32(f.severity) * u * ~np.isnan(v)
        else:
            # fmax drops NaN (not recorded) for 0, as maximum would not
            sim = np.fmax(F32(0), 1 - np.abs(v - F32(s.severity)) / F32(SEVERITY_SCALE))
            part += F32(f.severity) * sim
        return part

    def _lab_part(self, col: LabColumn, q: LabValue) -> FArray:
        """Range-normalised Sim of the cases having the lab (case range, query's, relative)."""
        a, b = col.value, F32(q.value)
        scale = col.width
        if col.any_missing_width:
            q_width = None
            if q.normal_low is not None and q.normal_high is not None:
                if q.normal_high > q.normal_low:
                    q_width = F32(q.normal_high - q.normal_low)
            fallback = np.maximum(np.abs(a), abs(b)) if q_width is None else q_width
            scale = np.where(np.isnan(scale), fallback, scale)
        diff = np.abs(a - b)
        with np.errstate(invalid="ignore", divide="ignore"):
            sim = np.where(scale > 0, np.maximum(F32(0), 1 - diff / scale), F32(1))
        return sim.astype(F32, copy=False)

    def scores(
        self, query: CaseRecord, weights: Mapping[str, float], *, version: int | None = None
    ) -> FArray:
        """Sim(i, query) for every indexed case i (0 for a case with no weighted attribute).

        ``version`` identifies the weight set: equal versions reuse the cached Σ w_p.
        """
        ws, wl = self.weight_vectors(weights)
        den, unknown = self._base(ws, wl, version)
        num = unknown.copy()  # every lab counts u·w_l until the query names it
        qs, ql = self._query_rows(query)
        for r, s in qs.items():
            col = self.symptom_column(r)
            if col.rows.size and ws[r] != 0:
                num[col.rows] += ws[r] * self._symptom_part(col, s)
        u = F32(self.config.unknown_similarity)
        for r, q in ql.items():
            lab = self.lab_column(r)
            if lab.rows.size and wl[r] != 0:
                num[lab.rows] += wl[r] * (self._lab_part(lab, q) - u)
        out = np.zeros(self.n, dtype=F32)
        np.divide(num, den, out=out, where=den > 0)
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
        if self.n == 0 or k <= 0:
            return []
        sims = self.scores(query, weights, version=version)
        return self._best(sims, query, weights, k=k, threshold=threshold, exclude=exclude)

    def top_k_many(
        self,
        queries: Sequence[MatchQuery],
        weights: Mapping[str, float],
        *,
        version: int | None = None,
    ) -> list[list[Match]]:
        """``top_k`` for several queries under one weight set (one snapshot, one lock)."""
        return [
            self.top_k(q.query, weights, k=q.k, threshold=q.threshold, version=version)
            for q in queries
        ]

    def _best(
        self,
        sims: FArray,
        query: CaseRecord,
        weights: Mapping[str, float],
        *,
        k: int,
        threshold: float,
        exclude: Sequence[str] = (),
    ) -> list[Match]:
        """Top k of one query's scores (modified in place for ``exclude``)."""
        if k <= 0:
            return []
        for cid in exclude:
            row = self._row_of.get(cid)
            if row is not None:
                sims[row] = -np.inf
        if k < self.n:
            # the k-th largest value, then every case at least as good (keeps ties stable)
            kth = np.partition(sims, self.n - k)[self.n - k]
            cand = np.flatnonzero(sims >= max(kth, F32(threshold)))
        else:
            cand = np.flatnonzero(sims >= threshold)
        order = np.lexsort((cand, -self._coverage(query, weights, cand), -sims[cand]))[:k]
        return [Match(int(r), self.case_ids[int(r)], float(sims[r])) for r in cand[order]]

    def _coverage(self, query: CaseRecord, weights: Mapping[str, float], rows: IArray) -> FArray:
        """Σ w of the query's findings each case also records: breaks ties of equal Sim.

        The patent's sum runs over the library case's attributes only, so a case whose few
        findings all occur in the query scores 1 however much of the query it leaves out;
        among equals, the case that accounts for more of the query ranks first.
        """
        ws, wl = self.weight_vectors(weights)
        qs, ql = self._query_rows(query)
        cover = np.zeros(rows.size, dtype=F32)
        for r in qs:
            cover += ws[r] * self.present[r, rows]
        for r in ql:
            cover += wl[r] * ~np.isnan(self.lab_value[r, rows])
        return cover

    def contributions(
        self, row: int, query: CaseRecord | QueryFindings, weights: Mapping[str, float]
    ) -> list[Contribution]:
        """Each attribute of case ``row``: w_p, Sim(i_p, j_p) and its share w_p·Sim / Σ w."""
        case = self.features_of(row)
        return list(case_similarity(case, query, weights, self.config).contributions)

