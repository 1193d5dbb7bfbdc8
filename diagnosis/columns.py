"""Attribute-major case columns: the arrays the matcher scores, built from CaseRecords.

One row per symptom (presence, duration, onset, severity) and per lab (value, normal-range
width) over all cases; NaN or -1 mark what a case does not record. Rows are grown in place
as doctor-validated cases arrive; per-attribute packed copies are cached for scoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from diagnosis.similarity import KNOWN_ONSETS, SEVERITY_SCALE, SimilarityConfig, first_by_name
from hospital.emr.records import CaseRecord, LabValue, Onset, Origin, Symptom
from node.errors import NotFound, ValidationFailed

F32 = np.float32
ONSET_CODE = {o: i for i, o in enumerate(KNOWN_ONSETS)}
FArray = npt.NDArray[np.float32]
IArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class SymptomColumn:
    """Cases having one symptom (row indices) and their facets, densely packed.

    ``clamp_duration`` / ``clamp_severity``: some recorded value is outside the records'
    ranges (a negative or infinite duration, a severity off the 0–10 scale; bulk columns
    are adopted unchecked) or, for severity, not recorded, so Sim needs fmax(·, 0).
    """

    rows: IArray
    duration: FArray
    onset: npt.NDArray[np.int8]
    severity: FArray
    clamp_duration: bool = False
    clamp_severity: bool = False

    @classmethod
    def packed(
        cls, rows: IArray, duration: FArray, onset: npt.NDArray[np.int8], severity: FArray
    ) -> SymptomColumn:
        """The column with its clamp flags read off the values."""
        recorded = duration[~np.isnan(duration)]
        return cls(
            rows,
            duration,
            onset,
            severity,
            clamp_duration=not bool(((recorded >= 0) & np.isfinite(recorded)).all()),
            clamp_severity=not bool(((severity >= 0) & (severity <= SEVERITY_SCALE)).all()),
        )


@dataclass(frozen=True, slots=True)
class LabColumn:
    """Cases having one lab value (row indices), the values and range widths (NaN: none)."""

    rows: IArray
    value: FArray
    width: FArray
    any_missing_width: bool


@dataclass
class CaseColumns:
    """Ready-made columns: (n_symptoms, n) and (n_labs, n) arrays; NaN / -1 = not recorded.

    ``onset`` holds indices into ``similarity.KNOWN_ONSETS``; ``lab_width`` the normal-range
    width (high − low) per case and lab.
    """

    symptoms: Sequence[str]
    labs: Sequence[str]
    present: npt.NDArray[np.bool_]
    duration: FArray
    onset: npt.NDArray[np.int8]
    severity: FArray
    lab_value: FArray
    lab_width: FArray
    case_ids: Sequence[str]
    diseases: Sequence[str | None]
    validated: npt.NDArray[np.bool_]

    @property
    def n(self) -> int:
        """Number of cases."""
        return len(self.case_ids)

    def check(self) -> None:
        """Refuse arrays whose shapes do not fit the vocabularies and case count."""
        s, n, lab = len(self.symptoms), self.n, len(self.labs)
        shapes = {
            "present": (self.present.shape, (s, n)),
            "duration": (self.duration.shape, (s, n)),
            "onset": (self.onset.shape, (s, n)),
            "severity": (self.severity.shape, (s, n)),
            "lab_value": (self.lab_value.shape, (lab, n)),
            "lab_width": (self.lab_width.shape, (lab, n)),
            "validated": (self.validated.shape, (n,)),
        }
        for name, (got, want) in shapes.items():
            if got != want:
                raise ValidationFailed(f"{name} has shape {got}", field=name, fix=f"use {want}")
        if len(self.diseases) != n:
            raise ValidationFailed("one disease per case", field="diseases", fix=f"give {n}")


def _grow(a: np.ndarray, cap: int, fill: float | int | bool) -> np.ndarray:
    out = np.full((a.shape[0], cap), fill, dtype=a.dtype)
    out[:, : a.shape[1]] = a
    return out


class ColumnStore:
    """Attribute-major arrays over a case library, added to as doctors validate cases."""

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
        self.onset_matrix = m  # [case onset code, query onset code], read by the packer
        self._changed()

    # ------------------------------------------------------------ building

    def _changed(self) -> None:
        """Rows or vocabulary changed: drop every derived cache (none here; see CaseIndex)."""

    def symptom_column(self, r: int) -> SymptomColumn:
        """The cases that have symptom row r, with their facets packed densely."""
        rows = np.flatnonzero(self.present[r, : self.n])
        return SymptomColumn.packed(
            rows, self.duration[r, rows], self.onset[r, rows], self.severity[r, rows]
        )

    def lab_column(self, r: int) -> LabColumn:
        """The cases that have lab row r, with values and range widths packed densely."""
        rows = np.flatnonzero(~np.isnan(self.lab_value[r, : self.n]))
        width = self.lab_width[r, rows]
        return LabColumn(
            rows,
            self.lab_value[r, rows],
            width,
            any_missing_width=bool(np.isnan(width).any()),
        )

    def __len__(self) -> int:
        return self.n

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._row_of

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
                    self.onset[r, i] = ONSET_CODE[s.onset]
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
        self._changed()
        return rows

    @classmethod
    def from_columns(
        cls,
        columns: CaseColumns,
        config: SimilarityConfig | None = None,
    ) -> Self:
        """A store over ready-made columns (bulk loads, benchmarks); the arrays are adopted."""
        columns.check()
        idx = cls(config, capacity=max(1, columns.n))
        idx.symptoms, idx.labs = list(columns.symptoms), list(columns.labs)
        idx._sym_row = {s: i for i, s in enumerate(idx.symptoms)}
        idx._lab_row = {s: i for i, s in enumerate(idx.labs)}
        idx.present, idx.duration = columns.present, columns.duration.astype(F32, copy=False)
        idx.onset, idx.severity = columns.onset, columns.severity.astype(F32, copy=False)
        idx.lab_value = columns.lab_value.astype(F32, copy=False)
        idx.lab_width = columns.lab_width.astype(F32, copy=False)
        idx.case_ids = list(columns.case_ids)
        idx._row_of = {c: i for i, c in enumerate(idx.case_ids)}
        if len(idx._row_of) != columns.n:
            raise ValidationFailed("case ids repeat", field="case_ids", fix="make them unique")
        idx.diseases = list(columns.diseases)
        idx.validated = columns.validated.copy()
        idx.n = idx.cap = columns.n
        idx._changed()
        return idx

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
