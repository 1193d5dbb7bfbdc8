"""Vectorised Sim(i, j) over a whole case library, top-k above a threshold.

Sim(i, j) = num_i / den_i with den_i = Σ_p w_p over case i's own attributes, which depends
only on the weights and is cached per weight version, together with the 'unknown' term of
the labs the query lacks. A query then touches only the packed columns of the symptoms and
labs it names, so there is no per-case Python loop. The numbers equal
``similarity.case_similarity`` (tests and the benchmark check it).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from diagnosis.columns import (
    F32,
    ONSET_CODE,
    ColumnStore,
    FArray,
    IArray,
    LabColumn,
)
from diagnosis.facets import FacetTerms, facet_terms
from diagnosis.similarity import (
    SEVERITY_SCALE,
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


_ZERO, _SEVERITY_SCALE = F32(0), F32(SEVERITY_SCALE)
SEVERITY_CACHE_BYTES = 64 * 2**20  # per index: ~20 MB at 10,000 cases with every 0-10 value
_Rows = tuple[dict[int, Symptom], dict[int, LabValue]]


class CaseIndex(ColumnStore):
    """The case library as columns, scored against a query in one pass of numpy."""

    def _changed(self) -> None:
        super()._changed()
        self._weighted_cache: tuple[int, _Weighted] | None = None
        self._terms: dict[int, FacetTerms] = {}
        self._severity_terms: dict[tuple[int, float], FArray] = {}
        self._severity_bytes = 0

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
    def _phi(self) -> tuple[np.float32, np.float32, np.float32]:
        """φ of presence, duration and severity as float32 scalars (the config is fixed)."""
        f = self.config.facets
        return F32(f.presence), F32(f.duration), F32(f.severity)

    def _symptom_terms(self, r: int) -> FacetTerms:
        """The query-independent facet terms of symptom row r (cached until cases change)."""
        terms = self._terms.get(r)
        if terms is None:
            terms = facet_terms(self.symptom_column(r), self.config, self._onset_matrix)
            self._terms[r] = terms
        return terms

    def _symptom_part(self, r: int, s: Symptom) -> FArray:
        """Σ_f φ_f·Sim_f over the facets each case records, for the cases having the symptom.

        Facet terms are summed in the order presence, duration, onset, severity (float32
        sums depend on the order; the numbers must not move).
        """
        terms = self._symptom_terms(r)
        phi_presence, phi_duration, _ = self._phi
        if s.duration_days is None:
            part = terms.presence_unknown_duration.copy()
        elif s.duration_days == 0:
            part = terms.presence_zero_duration.copy()
        else:  # max(d, q) ≥ q > 0: no division by zero
            d, q = terms.duration, F32(s.duration_days)
            part = d - q
            np.abs(part, out=part)
            part /= np.maximum(d, q)
            np.subtract(1, part, out=part)
            if terms.clamp_duration:  # fmax(NaN, 0) = 0 for "not recorded"
                np.fmax(part, _ZERO, out=part)
            part *= phi_duration
            part += phi_presence
        code = len(ONSET_CODE) if s.onset is Onset.UNKNOWN else ONSET_CODE[s.onset]
        part += terms.onset[code]
        if s.severity is None:
            part += terms.unknown_severity
        else:
            part += self._severity_term(r, s.severity, terms.clamp_severity)
        return part

    def _severity_term(self, r: int, severity: float, clamp: bool) -> FArray:
        """φ_s·Sim(severity) of symptom row r's cases against a query severity (read-only).

        Kept per (row, severity) while the cache holds under ``SEVERITY_CACHE_BYTES``: a
        0–10 scale has few values in practice, and this term was ~30 % of a query's scoring.
        """
        key = (r, severity)
        cached = self._severity_terms.get(key)
        if cached is not None:
            return cached
        sim = self.symptom_column(r).severity - F32(severity)
        np.abs(sim, out=sim)
        sim /= _SEVERITY_SCALE
        np.subtract(1, sim, out=sim)
        if clamp:  # fmax drops NaN (not recorded) for 0, as maximum would not
            np.fmax(sim, _ZERO, out=sim)
        sim *= self._phi[2]
        if self._severity_bytes + sim.nbytes <= SEVERITY_CACHE_BYTES:
            sim.flags.writeable = False
            self._severity_terms[key] = sim
            self._severity_bytes += sim.nbytes
        return sim

    def _lab_part(self, col: LabColumn, q: LabValue) -> FArray:
        """Range-normalised Sim of the cases having the lab (case range, query's, relative)."""
        a, b = col.value, F32(q.value)
        if col.positive_width:  # every case has a range: no fallback, no division by zero
            sim = a - b
            np.abs(sim, out=sim)
            sim /= col.width
            np.subtract(1, sim, out=sim)
            return np.maximum(_ZERO, sim, out=sim)
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
        return self._scores(self._query_rows(query), self._weighted(weights, version))

    def _scores(self, rows: _Rows, weighted: _Weighted) -> FArray:
        ws, wl = weighted.ws, weighted.wl
        num = weighted.unknown.copy()  # every lab counts u·w_l until the query names it
        qs, ql = rows
        for r, s in qs.items():
            col = self.symptom_column(r)
            if col.rows.size and ws[r] != 0:
                part = self._symptom_part(r, s)
                part *= ws[r]
                num[col.rows] += part
        u = F32(self.config.unknown_similarity)
        for r, q in ql.items():
            lab = self.lab_column(r)
            if lab.rows.size and wl[r] != 0:
                part = self._lab_part(lab, q)
                part -= u
                part *= wl[r]
                num[lab.rows] += part
        if weighted.den_positive:
            return np.divide(num, weighted.den, out=num)
        out = np.zeros(self.n, dtype=F32)
        np.divide(num, weighted.den, out=out, where=weighted.den > 0)
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
        if k < self.n:
            # the k-th largest value, then every case at least as good (keeps ties stable)
            kth = np.partition(sims, self.n - k)[self.n - k]
            cand = np.flatnonzero(sims >= max(kth, F32(threshold)))
        else:
            cand = np.flatnonzero(sims >= threshold)
        top = sims[cand]
        if len(set(top.tolist())) == top.size:  # no ties: Sim alone orders them
            order = np.argsort(-top)[:k]
        else:
            order = np.lexsort((cand, -self._coverage(rows, weighted, cand), -top))[:k]
        best, ids = zip(cand[order].tolist(), top[order].tolist(), strict=True), self.case_ids
        return [Match(r, ids[r], s) for r, s in best]

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
