"""Vectorised Sim(i, j) over a whole case library, top-k above a threshold.

Sim(i, j) = num_i / den_i with den_i = Σ_p w_p over case i's own attributes, which depends
only on the weights and is cached per weight version, together with the 'unknown' term of
the labs the query lacks. A query then touches only the packed columns of the symptoms and
labs it names, so there is no per-case Python loop. The numbers equal
``similarity.case_similarity`` (tests and the benchmark check it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

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
from diagnosis.similarity import SEVERITY_SCALE, Contribution, case_similarity, first_by_name
from hospital.emr.records import CaseRecord, LabValue, Onset, Symptom

__all__ = ["CaseIndex", "Match", "MatchQuery"]

_BATCH_CELLS = 4_000_000  # queries × cases scored at once (16 MB of float32 per array)


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

    def _symptom_parts(self, col: SymptomColumn, qs: Sequence[Symptom]) -> FArray:
        """Σ_f φ_f·Sim_f over the facets each case records: one row per query symptom.

        Every element is computed exactly as for a single query (same float32 operations in
        the same order), so a batch row equals that query's own result bit for bit.
        """
        f, u = self.config.facets, F32(self.config.unknown_similarity)
        part = np.full((len(qs), col.rows.size), F32(f.presence), dtype=F32)
        d, v = col.duration, col.severity
        days = [s.duration_days for s in qs]
        term = np.empty_like(part)
        _fill(term, [x is None for x in days], lambda _: F32(f.duration) * u * ~np.isnan(d))
        _fill(term, [x == 0 for x in days], lambda _: F32(f.duration) * (d == 0))

        def duration_sim(rows: list[int]) -> FArray:  # max(d, q) ≥ q > 0: no division by 0
            q = np.array([[days[i]] for i in rows], dtype=F32)
            sim = 1 - np.abs(d - q) / np.maximum(d, q)  # in [0, 1] or NaN: fmax(NaN, 0) = 0
            return F32(f.duration) * np.fmax(sim, F32(0))

        _fill(term, [x is not None and x > 0 for x in days], duration_sim)
        part += term

        def onset_sim(rows: list[int]) -> FArray:  # column 0 = 0 for cases without onset (−1)
            codes = [ONSET_CODE[qs[i].onset] for i in rows]
            tables = np.concatenate(
                [np.zeros((len(rows), 1), F32), self._onset_matrix[:, codes].T], 1
            )
            return F32(f.onset) * tables[:, col.onset.astype(np.intp) + 1]

        _fill(
            term,
            [s.onset is Onset.UNKNOWN for s in qs],
            lambda _: F32(f.onset) * u * (col.onset >= 0),
        )
        _fill(term, [s.onset is not Onset.UNKNOWN for s in qs], onset_sim)
        part += term

        def severity_sim(rows: list[int]) -> FArray:  # fmax drops NaN (not recorded) for 0
            q = np.array([[qs[i].severity] for i in rows], dtype=F32)
            return F32(f.severity) * np.fmax(F32(0), 1 - np.abs(v - q) / F32(SEVERITY_SCALE))

        _fill(term, [s.severity is None for s in qs], lambda _: F32(f.severity) * u * ~np.isnan(v))
        _fill(term, [s.severity is not None for s in qs], severity_sim)
        part += term
        return part

    def _lab_parts(self, col: LabColumn, qs: Sequence[LabValue]) -> FArray:
        """Range-normalised Sim of the cases having the lab (case range, query's, relative)."""
        a = col.value
        b = np.array([[q.value] for q in qs], dtype=F32)
        scale = np.broadcast_to(col.width, (len(qs), col.rows.size))
        if col.any_missing_width:
            q_width = np.array([[_range_width(q)] for q in qs], dtype=F32)  # NaN: no range
            fallback = np.where(np.isnan(q_width), np.maximum(np.abs(a), np.abs(b)), q_width)
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
        return self.scores_many([query], weights, version=version)[0]

    def scores_many(
        self,
        queries: Sequence[CaseRecord],
        weights: Mapping[str, float],
        *,
        version: int | None = None,
    ) -> FArray:
        """Sim(i, query) for every case i and query: one row per query.

        The queries' k-th findings are grouped by attribute, so each attribute costs one
        numpy pass per position rather than one per query; each query's terms are still
        added in its own order, so a row equals ``scores`` of that query alone.
        """
        ws, wl = self.weight_vectors(weights)
        den, unknown = self._base(ws, wl, version)
        num = np.repeat(unknown[None, :], len(queries), axis=0)  # labs count u·w_l until named
        rows = [self._query_rows(q) for q in queries]
        for k in range(max((len(qs) for qs, _ in rows), default=0)):
            for r, group in _by_attribute(k, [qs for qs, _ in rows]).items():
                col = self.symptom_column(r)
                if col.rows.size and ws[r] != 0:
                    part = ws[r] * self._symptom_parts(col, [s for _, s in group])
                    for (i, _), row in zip(group, part, strict=True):
                        num[i, col.rows] += row  # 1-D scatter: far cheaper than np.ix_
        u = F32(self.config.unknown_similarity)
        for k in range(max((len(ql) for _, ql in rows), default=0)):
            for r, labs in _by_attribute(k, [ql for _, ql in rows]).items():
                lab = self.lab_column(r)
                if lab.rows.size and wl[r] != 0:
                    part = wl[r] * (self._lab_parts(lab, [q for _, q in labs]) - u)
                    for (i, _), row in zip(labs, part, strict=True):
                        num[i, lab.rows] += row
        out = np.zeros_like(num)
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
        """``top_k`` for several queries under one weight set; each list is what it returns."""
        if self.n == 0:
            return [[] for _ in queries]
        found: list[list[Match]] = []
        step = max(1, _BATCH_CELLS // self.n)  # a 1M-case library scores 4 queries at a time
        for start in range(0, len(queries), step):
            chunk = queries[start : start + step]
            sims = self.scores_many([q.query for q in chunk], weights, version=version)
            found += [
                self._best(row, q.query, weights, k=q.k, threshold=q.threshold)
                for row, q in zip(sims, chunk, strict=True)
            ]
        return found

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
        self, row: int, query: CaseRecord, weights: Mapping[str, float]
    ) -> list[Contribution]:
        """Each attribute of case ``row``: w_p, Sim(i_p, j_p) and its share w_p·Sim / Σ w."""
        case = self.features_of(row)
        return list(case_similarity(case, query, weights, self.config).contributions)


_T = TypeVar("_T")


def _by_attribute(k: int, queries: Sequence[dict[int, _T]]) -> dict[int, list[tuple[int, _T]]]:
    """The k-th named finding of each query, grouped by attribute row: row → [(query, it)]."""
    groups: dict[int, list[tuple[int, _T]]] = {}
    for i, named in enumerate(queries):
        if k < len(named):
            r, item = list(named.items())[k]
            groups.setdefault(r, []).append((i, item))
    return groups


def _fill(out: FArray, where: list[bool], compute: Callable[[list[int]], FArray]) -> None:
    """Set the rows of ``out`` chosen by ``where`` to ``compute(those rows)`` (if any)."""
    chosen = [i for i, w in enumerate(where) if w]
    if chosen:
        out[chosen] = compute(chosen)


def _range_width(q: LabValue) -> float:
    """Width high − low of the query's normal range; NaN when it has none (or an empty one)."""
    if q.normal_low is not None and q.normal_high is not None and q.normal_high > q.normal_low:
        return q.normal_high - q.normal_low
    return math.nan
