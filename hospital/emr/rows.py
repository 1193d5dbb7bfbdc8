"""Translating CaseRecords to table rows and back (no sessions, no transactions)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
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
    symptoms = _children(conn, SYMPTOMS, ids)
    labs = _children(conn, LABS, ids)
    complications = _children(conn, COMPLICATIONS, ids)
    treatments = _children(conn, TREATMENTS, ids)
    out = []
    for case_id in ids:
        head = heads.get(case_id)
        if head is None:
            continue
        diagnosis = None
        if head.disease_icd10 is not None:
            diagnosis = Diagnosis(
                disease=Disease(
                    icd10=head.disease_icd10, name=head.disease_name, snomed=head.disease_snomed
                ),
                complications=tuple(c.name for c in complications.get(case_id, [])),
            )
        out.append(
            CaseRecord(
                case_id=case_id,
                patient_id=head.patient_id,
                date=head.date,
                origin=head.origin,
                image=head.image,
                diagnosis=diagnosis,
                symptoms=tuple(
                    Symptom(
                        name=s.name,
                        duration_days=s.duration_days,
                        onset=s.onset,
                        severity=s.severity,
                    )
                    for s in symptoms.get(case_id, [])
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
                    for v in labs.get(case_id, [])
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
                    for t in treatments.get(case_id, [])
                ),
            )
        )
    return out
