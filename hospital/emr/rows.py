"""Translating CaseRecords to table rows and back (no sessions, no transactions)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from hospital.emr.records import (
    CaseRecord,
    Diagnosis,
    Disease,
    LabValue,
    Symptom,
    Treatment,
)
from hospital.emr.tables import CaseRow, ComplicationRow, LabRow, SymptomRow, TreatmentRow

if TYPE_CHECKING:
    from hospital.emr.store import NewCase

CASES: Table = CaseRow.__table__  # type: ignore[assignment]
SYMPTOMS: Table = SymptomRow.__table__  # type: ignore[assignment]
LABS: Table = LabRow.__table__  # type: ignore[assignment]
COMPLICATIONS: Table = ComplicationRow.__table__  # type: ignore[assignment]
TREATMENTS: Table = TreatmentRow.__table__  # type: ignore[assignment]


def case_rows(items: Sequence[tuple[str, NewCase]]) -> dict[Table, list[dict[str, Any]]]:
    """Row dicts per table for a batch of (key, new case); parents come before children."""
    out: dict[Table, list[dict[str, Any]]] = {
        CASES: [],
        SYMPTOMS: [],
        LABS: [],
        COMPLICATIONS: [],
        TREATMENTS: [],
    }
    for key, item in items:
        case = item.case
        disease = case.diagnosis.disease if case.diagnosis else None
        out[CASES].append(
            {
                "case_id": key,
                "patient_id": case.patient_id,
                "date": case.date,
                "origin": case.origin.value,
                "disease_icd10": disease.icd10 if disease else None,
                "disease_name": disease.name if disease else None,
                "disease_snomed": disease.snomed if disease else None,
                "source": item.source,
                "source_ref": item.ref,
                "image": case.image,
            }
        )
        for i, s in enumerate(case.symptoms):
            out[SYMPTOMS].append(
                {
                    "case_id": key,
                    "position": i,
                    "name": s.name,
                    "duration_days": s.duration_days,
                    "onset": s.onset.value,
                    "severity": s.severity,
                }
            )
        for i, lab in enumerate(case.labs):
            out[LABS].append(
                {
                    "case_id": key,
                    "position": i,
                    "name": lab.name,
                    "value": lab.value,
                    "unit": lab.unit,
                    "normal_low": lab.normal_low,
                    "normal_high": lab.normal_high,
                    "loinc": lab.loinc,
                }
            )
        if case.diagnosis:
            for i, c in enumerate(case.diagnosis.complications):
                out[COMPLICATIONS].append({"case_id": key, "position": i, "name": c})
        for i, t in enumerate(case.treatments):
            out[TREATMENTS].append(
                {
                    "case_id": key,
                    "position": i,
                    "drug": t.drug,
                    "route": t.route.value,
                    "dose": t.dose,
                    "dose_unit": t.dose_unit,
                    "frequency_per_day": t.frequency_per_day,
                    "duration_days": t.duration_days,
                    "rxnorm": t.rxnorm,
                }
            )
    return out


def _children(conn: Connection, table: Table, ids: list[str]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    query = (
        select(table).where(table.c.case_id.in_(ids)).order_by(table.c.case_id, table.c.position)
    )
    for row in conn.execute(query):
        grouped[row.case_id].append(row)
    return grouped


def load_cases(conn: Connection, ids: list[str]) -> list[CaseRecord]:
    """The cases with these ids, in the order given (missing ids are left out)."""
    if not ids:
        return []
    heads = {r.case_id: r for r in conn.execute(select(CASES).where(CASES.c.case_id.in_(ids)))}
    children = {t: _children(conn, t, ids) for t in CHILD_TABLES}
    return [
        build_case(heads[i], *(children[t].get(i, []) for t in CHILD_TABLES))
        for i in ids
        if i in heads
    ]


CHILD_TABLES = (SYMPTOMS, LABS, COMPLICATIONS, TREATMENTS)


def _ordered(table: Table, dialect: str) -> Any:
    # byte/code-point order on both backends, so Python's str comparison agrees with it
    key = table.c.case_id.collate("C") if dialect == "postgresql" else table.c.case_id
    return key


def stream_cases(conn: Connection, origin: str | None = None) -> Iterator[CaseRecord]:
    """Every case (of one origin) in case-id order: five ordered scans merged in Python.

    No IN-lists: each table is read once, in the order of its case_id index.
    """
    dialect = conn.dialect.name
    streaming = conn.execution_options(stream_results=True, yield_per=2000)
    heads_q = select(CASES).order_by(_ordered(CASES, dialect))
    if origin is not None:
        heads_q = heads_q.where(CASES.c.origin == origin)
    merges = [
        _Merge(iter(streaming.execute(select(t).order_by(_ordered(t, dialect), t.c.position))))
        for t in CHILD_TABLES
    ]
    for head in streaming.execute(heads_q):
        yield build_case(head, *(m.take(head.case_id) for m in merges))


class _Merge:
    """A cursor over child rows sorted by case_id, handing out one case's rows at a time."""

    def __init__(self, rows: Iterator[Any]) -> None:
        self.rows = rows
        self.row = next(rows, None)

    def take(self, case_id: str) -> list[Any]:
        while self.row is not None and self.row.case_id < case_id:  # rows of skipped cases
            self.row = next(self.rows, None)
        out = []
        while self.row is not None and self.row.case_id == case_id:
            out.append(self.row)
            self.row = next(self.rows, None)
        return out


def build_case(
    head: Any,
    symptoms: list[Any],
    labs: list[Any],
    complications: list[Any],
    treatments: list[Any],
) -> CaseRecord:
    """A CaseRecord from its case row and its child rows (in position order)."""
    diagnosis = None
    if head.disease_icd10 is not None:
        diagnosis = Diagnosis(
            disease=Disease(
                icd10=head.disease_icd10, name=head.disease_name, snomed=head.disease_snomed
            ),
            complications=tuple(c.name for c in complications),
        )
    return CaseRecord(
        case_id=head.case_id,
        patient_id=head.patient_id,
        date=head.date,
        origin=head.origin,
        image=head.image,
        diagnosis=diagnosis,
        symptoms=tuple(
            Symptom(name=s.name, duration_days=s.duration_days, onset=s.onset, severity=s.severity)
            for s in symptoms
        ),
        labs=tuple(
            LabValue(
                name=v.name,
                value=v.value,
                unit=v.unit,
                normal_low=v.normal_low,
                normal_high=v.normal_high,
                loinc=v.loinc,
            )
            for v in labs
        ),
        treatments=tuple(
            Treatment(
                drug=t.drug,
                route=t.route,
                dose=t.dose,
                dose_unit=t.dose_unit,
                frequency_per_day=t.frequency_per_day,
                duration_days=t.duration_days,
                rxnorm=t.rxnorm,
            )
            for t in treatments
        ),
    )
