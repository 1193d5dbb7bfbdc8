"""Columnar case-library index: Sim(i, j) for every library case at once, with numpy.

Arrays are attribute-major (one contiguous row per symptom or lab over all cases), so a
query touches only the rows of the symptoms it names plus the lab rows; the denominator
Σ_p w_p of every case depends only on the weights and is cached per weight set. The
numbers equal ``similarity.case_similarity`` (checked by tests and by the benchmark).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from diagnosis.similarity import (
    KNOWN_ONSETS,
    SEVERITY_SCALE,
    Contribution,
    Facet,
    SimilarityConfig,
    first_by_name,
)
from hospital.emr.records import CaseRecord, LabValue, Onset, Origin, Symptom
from node.errors import NotFound, ValidationFailed

F32 = np.float32
_ONSET_CODE = {o: i for i, o in enumerate(KNOWN_ONSETS)}
FArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Match:
    """One library case above the threshold: its row, id and Sim(i, j)."""

    row: int
    case_id: str
    similarity: float


def _grow(a: np.ndarray, cap: int, fill: float | int | bool) -> np.ndarray:
    out = np.full((a.shape[0], cap), fill, dtype=a.dtype)
    out[:, : a.shape[1]] = a
    return out


class CaseIndex:
    """Columnar arrays over a case library; built once, added to as doctors validate cases."""

    def __init__(self, config: SimilarityConfig | None = None, capacity: int = 1024) -> None:
        self.config = config or SimilarityConfig()
        self.symptoms: list[str] = []
        self.labs: list[str] = []
        self._sym_row: dict[str, int] = {}
        self._lab_row: dict[str, int] = {}
        self.case_ids: list[str] = []
        self._row_of: dict[str, int] = {}
        self.diseases: list[str | None] = []
        self.validated = np.zeros(capacity, dtype=bool)
        self.n = 0
        self.cap = capacity
        self.present = np.zeros((0, capacity), dtype=bool)
        self.duration = np.zeros((0, capacity), dtype=F32)
        self.onset = np.zeros((0, capacity), dtype=np.int8)
        self.severity = np.zeros((0, capacity), dtype=F32)
        self.lab_value = np.zeros((0, capacity), dtype=F32)
        self.lab_width = np.zeros((0, capacity), dtype=F32)
        m = np.array(
            [
                [self.config.onset_matrix[a.value][b.value] for b in KNOWN_ONSETS]
                for a in KNOWN_ONSETS
            ],
            dtype=F32,
        )
        self._onset_matrix = m
        self._denominator_cache: tuple[int, FArray] | None = None

    # ------------------------------------------------------------ building

    def __len__(self) -> int:
        return self.n

    def _ensure_capacity(self, need: int) -> None:
        if need <= self.cap:
            return
        cap = max(need, 2 * self.cap)
        self.present = _grow(self.present, cap, False)
        self.duration = _grow(self.duration, cap, np.nan)
        self.onset = _grow(self.onset, cap, -1)
        self.severity = _grow(self.severity, cap, np.nan)
        self.lab_value = _grow(self.lab_value, cap, np.nan)
        self.lab_width = _grow(self.lab_width, cap, np.nan)
        v = np.zeros(cap, dtype=bool)
        v[: self.n] = self.validated[: self.n]
        self.validated = v
        self.cap = cap

    def _symptom_row(self, name: str) -> int:
        row = self._sym_row.get(name)
        if row is None:
            row = len(self.symptoms)
            self.symptoms.append(name)
            self._sym_row[name] = row
            cap = self.cap
            self.present = np.vstack([self.present, np.zeros((1, cap), dtype=bool)])
            self.duration = np.vstack([self.duration, np.full((1, cap), np.nan, dtype=F32)])
            self.onset = np.vstack([self.onset, np.full((1, cap), -1, dtype=np.int8)])
            self.severity = np.vstack([self.severity, np.full((1, cap), np.nan, dtype=F32)])
        return row

    def _lab_row_of(self, name: str) -> int:
        row = self._lab_row.get(name)
        if row is None:
            row = len(self.labs)
            self.labs.append(name)
            self._lab_row[name] = row
            cap = self.cap
            self.lab_value = np.vstack([self.lab_value, np.full((1, cap), np.nan, dtype=F32)])
            self.lab_width = np.vstack([self.lab_width, np.full((1, cap), np.nan, dtype=F32)])
        return row

    def add(self, case: CaseRecord) -> int:
        """Append one case (it must carry a case_id); returns its row."""
        return self.add_many([case])[0]

    def add_many(self, cases: Iterable[CaseRecord]) -> list[int]:
        """Append cases in order; a case without case_id or with a known id is refused whole."""
        batch = list(cases)
        seen: set[str] = set()
        for k, c in enumerate(batch):
            if not c.case_id:
                raise ValidationFailed(
                    f"case #{k} has no case_id", field="case_id", fix="store the case first"
                )
            if c.case_id in self._row_of or c.case_id in seen:
                raise ValidationFailed(
                    f"case {c.case_id!r} is already indexed",
                    field="case_id",
                    fix="give each case a unique id",
                )
            seen.add(c.case_id)
        self._ensure_capacity(self.n + len(batch))
        rows = []
        for c in batch:
            i = self.n
            for name, s in first_by_name(c.symptoms).items():
                r = self._symptom_row(name)
                self.present[r, i] = True
                if s.duration_days is not None:
                    self.duration[r, i] = s.duration_days
                if s.onset is not Onset.UNKNOWN:
                    self.onset[r, i] = _ONSET_CODE[s.onset]
                if s.severity is not None:
                    self.severity[r, i] = s.severity
            for name, lab in first_by_name(c.labs).items():
                r = self._lab_row_of(name)
                self.lab_value[r, i] = lab.value
                if lab.normal_low is not None and lab.normal_high is not None:
                    if lab.normal_high > lab.normal_low:
                        self.lab_width[r, i] = lab.normal_high - lab.normal_low
            assert c.case_id is not None
            self.case_ids.append(c.case_id)
            self._row_of[c.case_id] = i
            self.diseases.append(c.diagnosis.disease.icd10 if c.diagnosis else None)
            self.validated[i] = c.origin is Origin.DOCTOR_VALIDATED
            self.n += 1
            rows.append(i)
        self._denominator_cache = None
        return rows

    def row_of(self, case_id: str) -> int:
        """Row of an indexed case id."""
        row = self._row_of.get(case_id)
        if row is None:
            raise NotFound(f"case {case_id!r} is not in the case library", fix="check the id")
        return row

    def features_of(self, row: int) -> CaseRecord:
        """The indexed features of one row as a CaseRecord (features only, no outcome)."""
        symptoms = []
        for r in np.flatnonzero(self.present[:, row]):
            d, o, s = self.duration[r, row], int(self.onset[r, row]), self.severity[r, row]
            symptoms.append(
                Symptom(
                    name=self.symptoms[r],
                    duration_days=None if np.isnan(d) else float(d),
                    onset=Onset.UNKNOWN if o < 0 else KNOWN_ONSETS[o],
                    severity=None if np.isnan(s) else float(s),
                )
            )
        labs = []
        for r in np.flatnonzero(~np.isnan(self.lab_value[:, row])):
            w = self.lab_width[r, row]
            labs.append(
                LabValue(
                    name=self.labs[r],
                    value=float(self.lab_value[r, row]),
                    normal_low=None if np.isnan(w) else 0.0,
                    normal_high=None if np.isnan(w) else float(w),
                )
            )
        return CaseRecord(
            case_id=self.case_ids[row],
            patient_id="indexed",
            symptoms=tuple(symptoms),
            labs=tuple(labs),
        )

    # ------------------------------------------------------------ weights

    def weight_vectors(
        self, weights: Mapping[str, float], default: float = 1.0
    ) -> tuple[FArray, FArray]:
        """(w per symptom row, w per lab row) from an attribute-key → weight map."""
        ws = np.array([weights.get(f"symptom:{s}", default) for s in self.symptoms], dtype=F32)
        wl = np.array([weights.get(f"lab:{name}", default) for name in self.labs], dtype=F32)
        return ws, wl

    def denominators(self, ws: FArray, wl: FArray, version: int | None = None) -> FArray:
        """Σ_p w_p over each case's own attributes (cached while weights and rows are unchanged)."""
        if version is not None and self._denominator_cache is not None:
            cached_version, d = self._denominator_cache
            if cached_version == version:
                return d
        n, f = self.n, self.config.facets
        recorded = (
            f.presence * self.present[:, :n]
            + f.duration * ~np.isnan(self.duration[:, :n])
            + f.onset * (self.onset[:, :n] >= 0)
            + f.severity * ~np.isnan(self.severity[:, :n])
        ).astype(F32)
        d = ws @ recorded + wl @ (~np.isnan(self.lab_value[:, :n])).astype(F32)
        if version is not None:
            self._denominator_cache = (version, d)
        return d

    # ------------------------------------------------------------ scoring

    def _query_columns(self, query: CaseRecord) -> tuple[dict[int, Symptom], dict[int, LabValue]]:
        qs = {
            self._sym_row[k]: s
            for k, s in first_by_name(query.symptoms).items()
            if k in self._sym_row
        }
        ql = {
            self._lab_row[k]: v for k, v in first_by_name(query.labs).items() if k in self._lab_row
        }
        return qs, ql

    def _symptom_terms(
        self, r: int, s: Symptom, rows: np.ndarray | slice
    ) -> list[tuple[Facet, FArray]]:
        """Per-facet Sim (NaN where the case does not record the facet) for symptom row r."""
        u = F32(self.config.unknown_similarity)
        out: list[tuple[Facet, FArray]] = [(Facet.PRESENCE, np.ones_like(self.duration[r, rows]))]
        d = self.duration[r, rows]
        if s.duration_days is None:
            sim_d = np.where(np.isnan(d), np.nan, u).astype(F32)
        else:
            q = F32(s.duration_days)
            hi = np.maximum(d, q)
            with np.errstate(invalid="ignore", divide="ignore"):
                sim_d = np.where(hi > 0, 1 - np.abs(d - q) / hi, F32(1)).astype(F32)
            sim_d[np.isnan(d)] = np.nan
        out.append((Facet.DURATION, sim_d))
        o = self.onset[r, rows]
        if s.onset is Onset.UNKNOWN:
            sim_o = np.where(o >= 0, u, np.nan).astype(F32)
        else:
            col = self._onset_matrix[:, _ONSET_CODE[s.onset]]
            sim_o = np.where(o >= 0, col[np.maximum(o, 0)], np.nan).astype(F32)
        out.append((Facet.ONSET, sim_o))
        v = self.severity[r, rows]
        if s.severity is None:
            sim_v = np.where(np.isnan(v), np.nan, u).astype(F32)
        else:
            sim_v = np.maximum(F32(0), 1 - np.abs(v - F32(s.severity)) / F32(SEVERITY_SCALE))
        out.append((Facet.SEVERITY, sim_v))
        return out

    def _lab_sim(self, r: int, q: LabValue, rows: np.ndarray | slice) -> FArray:
        """Sim of lab row r against the query value (NaN where the case has no value)."""
        a = self.lab_value[r, rows]
        width = self.lab_width[r, rows].copy()
        if q.normal_low is not None and q.normal_high is not None and q.normal_high > q.normal_low:
            width[np.isnan(width)] = q.normal_high - q.normal_low
        b = F32(q.value)
        rel = np.maximum(np.abs(a), abs(b))
        scale = np.where(np.isnan(width), rel, width)
        with np.errstate(invalid="ignore", divide="ignore"):
            sim = np.where(scale > 0, np.maximum(F32(0), 1 - np.abs(a - b) / scale), F32(1))
        sim = sim.astype(F32)
        sim[np.isnan(a)] = np.nan
        return sim

    def scores(
        self, query: CaseRecord, weights: Mapping[str, float], *, version: int | None = None
    ) -> FArray:
        """Sim(i, query) for every indexed case i (0 for a case with no weighted attribute)."""
        n = self.n
        ws, wl = self.weight_vectors(weights)
        den = self.denominators(ws, wl, version)
        num = np.zeros(n, dtype=F32)
        qs, ql = self._query_columns(query)
        f = self.config.facets
        for r, s in qs.items():
            rows = np.flatnonzero(self.present[r, :n])
            if rows.size == 0:
                continue
            part = np.zeros(rows.size, dtype=F32)
            for facet, sim in self._symptom_terms(r, s, rows):
                part += F32(f.of(facet)) * np.nan_to_num(sim, nan=0.0)
            num[rows] += ws[r] * part
        u = F32(self.config.unknown_similarity)
        for r in range(len(self.labs)):
            if wl[r] == 0:
                continue
            q = ql.get(r)
            if q is None:
                if u:
                    num += wl[r] * u * ~np.isnan(self.lab_value[r, :n])
                continue
            num += wl[r] * np.nan_to_num(self._lab_sim(r, q, slice(0, n)), nan=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, F32(0)).astype(F32)

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
        """The k most similar cases with Sim ≥ threshold, best first (ties: lower row first)."""
        if self.n == 0 or k <= 0:
            return []
        sims = self.scores(query, weights, version=version)
        for cid in exclude:
            row = self._row_of.get(cid)
            if row is not None:
                sims[row] = -np.inf
        if k < self.n:
            cand = np.argpartition(-sims, k - 1)[:k]
        else:
            cand = np.arange(self.n)
        cand = cand[sims[cand] >= threshold]
        order = np.lexsort((cand, -sims[cand]))
        return [Match(int(r), self.case_ids[int(r)], float(sims[r])) for r in cand[order]]

    def contributions(
        self, row: int, query: CaseRecord, weights: Mapping[str, float]
    ) -> list[Contribution]:
        """Each attribute of case ``row``: w_p, Sim(i_p, j_p) and its share w_p·Sim / Σ w."""
        ws, wl = self.weight_vectors(weights)
        qs, ql = self._query_columns(query)
        f = self.config.facets
        raw: list[tuple[str, Facet, float, float]] = []
        sel = np.array([row])
        for r in np.flatnonzero(self.present[:, row]):
            key = f"symptom:{self.symptoms[r]}"
            s = qs.get(int(r))
            if s is None:
                recorded = [(Facet.PRESENCE, 0.0)] + [
                    (fc, 0.0) for fc, arr in self._recorded_facets(int(r), row) if arr
                ]
                terms = recorded
            else:
                terms = [
                    (fc, float(v[0]))
                    for fc, v in self._symptom_terms(int(r), s, sel)
                    if not np.isnan(v[0])
                ]
            raw.extend((key, fc, float(ws[r]) * f.of(fc), sim) for fc, sim in terms)
        for r in np.flatnonzero(~np.isnan(self.lab_value[:, row])):
            q = ql.get(int(r))
            sim = (
                self.config.unknown_similarity
                if q is None
                else float(self._lab_sim(int(r), q, sel)[0])
            )
            raw.append((f"lab:{self.labs[r]}", Facet.VALUE, float(wl[r]), sim))
        total = sum(w for _, _, w, _ in raw)
        if total <= 0:
            return []
        return [Contribution(k, fc, w, s, w * s / total) for k, fc, w, s in raw]

    def _recorded_facets(self, r: int, row: int) -> list[tuple[Facet, bool]]:
        return [
            (Facet.DURATION, not np.isnan(self.duration[r, row])),
            (Facet.ONSET, bool(self.onset[r, row] >= 0)),
            (Facet.SEVERITY, not np.isnan(self.severity[r, row])),
        ]
