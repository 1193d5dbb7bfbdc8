"""The documented CSV and JSON case formats (docs/emr-import.md), read and written.

CSV: one case per row; list cells hold items separated by ';' whose parts are separated by
'|' in a fixed order. JSON: an array of case objects (or JSON Lines), CaseRecord's fields.
Both may carry ``national_id`` (turned into the salted token, never stored) and ``case_ref``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hospital.emr.identity import national_id_token
from hospital.emr.importers.report import Parsed, RowError, errors_from
from hospital.emr.records import CaseRecord
from hospital.emr.store import NewCase
from hospital.emr.vocabulary import SEVERITIES
from node.errors import ConfigError, ValidationFailed

CSV_COLUMNS = (
    "case_ref",
    "patient_id",
    "national_id",
    "date",
    "origin",
    "disease_icd10",
    "disease_name",
    "complications",
    "symptoms",
    "labs",
    "treatments",
)
PARTS = {
    "symptoms": ("name", "duration_days", "onset", "severity"),
    "labs": ("name", "value", "unit", "normal_low", "normal_high"),
    "treatments": ("drug", "route", "dose", "dose_unit", "frequency_per_day", "duration_days"),
}
REQUIRED_CSV = {"patient_id"}


def _split_items(kind: str, cell: str) -> list[dict[str, str]]:
    names = PARTS[kind]
    items = []
    for index, text in enumerate(t for t in cell.split(";") if t.strip()):
        parts = [p.strip() for p in text.split("|")]
        if len(parts) > len(names):
            raise ValueError(
                f"{kind}[{index}] has {len(parts)} '|'-separated parts; expected at most "
                f"{len(names)} ({'|'.join(names)})"
            )
        items.append({n: p for n, p in zip(names, parts, strict=False) if p != ""})
    return items


def _case_from(
    data: dict[str, Any], salt: bytes | None, row: int | str
) -> tuple[CaseRecord, str | None]:
    data = dict(data)
    national_id = data.pop("national_id", None)
    data.pop("case_ref", None)
    token = None
    if national_id:
        if salt is None:
            raise ConfigError(
                f"row {row} has a national_id but no consortium salt is configured",
                fix="set FEDCHAIN_NATIONAL_ID_SALT (the consortium's shared secret)",
            )
        token = national_id_token(str(national_id), salt)
    data["symptoms"] = [_ordinal_severity(s) for s in data.get("symptoms") or []]
    return CaseRecord.model_validate(data), token


def _ordinal_severity(symptom: Any) -> Any:
    """A symptom whose severity is an ordinal grade ('moderate') gets its 0-10 value."""
    if isinstance(symptom, dict) and isinstance(symptom.get("severity"), str):
        grade = symptom["severity"].strip().lower()
        if grade in SEVERITIES:
            return {**symptom, "severity": SEVERITIES[grade]}
    return symptom


def csv_row_to_data(rec: dict[str, str]) -> dict[str, Any]:
    """The CaseRecord-shaped dict of one CSV row (raises ValueError naming the cell)."""
    data: dict[str, Any] = {k: v for k, v in rec.items() if k in ("patient_id", "origin") and v}
    if rec.get("date"):
        data["date"] = rec["date"]
    if rec.get("national_id"):
        data["national_id"] = rec["national_id"]
    for kind in PARTS:
        if rec.get(kind):
            data[kind] = _split_items(kind, rec[kind])
    if rec.get("disease_icd10") or rec.get("disease_name"):
        data["diagnosis"] = {
            "disease": {"icd10": rec.get("disease_icd10", ""), "name": rec.get("disease_name", "")},
            "complications": [
                c.strip() for c in (rec.get("complications") or "").split(";") if c.strip()
            ],
        }
    return data


def parse_csv(path: Path, salt: bytes | None = None) -> Iterator[Parsed]:
    """Parse a case CSV; rows are numbered as file lines (header = line 1)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = set(reader.fieldnames or ())
        unknown = fields - set(CSV_COLUMNS)
        if not REQUIRED_CSV <= fields or unknown:
            raise ValidationFailed(
                f"{path}: header has unknown columns {sorted(unknown)} or lacks "
                f"{sorted(REQUIRED_CSV - fields)}",
                field="header",
                fix=f"use the columns {', '.join(CSV_COLUMNS)}",
            )
        for number, rec in enumerate(reader, start=2):
            ref = rec.get("case_ref") or f"row {number:06d}"
            try:
                data = csv_row_to_data({k: (v or "").strip() for k, v in rec.items() if k})
                case, token = _case_from(data, salt, number)
            except ValidationError as exc:
                yield errors_from(exc, number)
                continue
            except ValueError as exc:
                yield [RowError(row=number, field=str(exc).split("[")[0], reason=str(exc))]
                continue
            yield NewCase(case=case, source=path.name, ref=ref, national_token=token)


def _json_records(path: Path) -> Iterable[tuple[int, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [
            (n, json.loads(line)) for n, line in enumerate(text.splitlines(), 1) if line.strip()
        ]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"{path}: not JSON ({exc})", field="file", fix="give a JSON array of case objects"
        ) from exc
    if not isinstance(data, list):
        raise ValidationFailed(
            f"{path}: top level must be an array of cases",
            field="file",
            fix="wrap the case objects in [ ... ]",
        )
    return list(enumerate(data, start=1))


def parse_json(path: Path, salt: bytes | None = None) -> Iterator[Parsed]:
    """Parse a JSON array (or .jsonl) of case objects; rows are 1-based array positions."""
    try:
        records = _json_records(path)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"{path}: line {exc.lineno} is not JSON", field="file", fix="one JSON object per line"
        ) from exc
    for number, rec in records:
        if not isinstance(rec, dict):
            yield [RowError(row=number, field="row", reason="not a JSON object")]
            continue
        try:
            case, token = _case_from(rec, salt, number)
        except ValidationError as exc:
            yield errors_from(exc, number)
            continue
        ref = str(rec.get("case_ref") or f"row {number:06d}")
        yield NewCase(case=case, source=path.name, ref=ref, national_token=token)


def _cell(items: Iterable[dict[str, Any]], names: tuple[str, ...]) -> str:
    def part(v: Any) -> str:
        return "" if v is None else str(v)

    return ";".join("|".join(part(item.get(n)) for n in names) for item in items)


def case_to_csv_row(case: CaseRecord, ref: str) -> dict[str, str]:
    """One CSV row of the documented format (the inverse of `parse_csv`)."""
    data = case.model_dump(mode="json")
    disease = case.diagnosis.disease if case.diagnosis else None
    return {
        "case_ref": ref,
        "patient_id": case.patient_id,
        "national_id": "",
        "date": case.date.isoformat() if case.date else "",
        "origin": case.origin.value,
        "disease_icd10": disease.icd10 if disease else "",
        "disease_name": disease.name if disease else "",
        "complications": ";".join(case.diagnosis.complications) if case.diagnosis else "",
        **{kind: _cell(data[kind], names) for kind, names in PARTS.items()},
    }
