"""The disease-symptom table format (`Disease, Symptom_1..17` + a symptom severity-weight table).

Symptom tokens are normalised (leading spaces and stray spaces removed), the two spellings of
the haemorrhoids label are merged, diseases get their ICD-10 code from the consortium list, and
a symptom's severity is its table weight (1-7) rescaled to 0-10.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from hospital.emr.importers.report import Parsed, RowError, errors_from
from hospital.emr.records import CaseRecord, Diagnosis, Disease, Symptom, normalize_term
from hospital.emr.store import NewCase
from hospital.emr.vocabulary import DISEASE_ALIASES, DISEASES
from node.errors import ValidationFailed

SEVERITY_FILE = "Symptom-severity.csv"
MAX_WEIGHT = 7.0
# misspellings in the weight table → the dataset's token
SYMPTOM_ALIASES = {"foul_smell_ofurine": "foul_smell_of_urine"}


def disease_of(label: str) -> tuple[str, str] | None:
    """(ICD-10, name) for a table label, after stripping and merging spellings."""
    name = label.strip()
    name = DISEASE_ALIASES.get(name, name)
    return DISEASES.get(name) or next(
        (v for k, v in DISEASES.items() if " ".join(k.split()) == " ".join(name.split())), None
    )


def load_weights(path: Path) -> dict[str, float]:
    """Symptom → weight (1-7) from the severity table; a repeated symptom keeps its highest."""
    weights: dict[str, float] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != [
            "Symptom",
            "weight",
        ]:
            raise ValidationFailed(
                f"{path}: header must be 'Symptom,weight'",
                field="header",
                fix="give the disease-symptom severity table (Symptom-severity.csv)",
            )
        for number, rec in enumerate(reader, start=2):
            term = normalize_term(rec["Symptom"] or "")
            term = SYMPTOM_ALIASES.get(term, term)
            try:
                weight = float(rec["weight"])
            except (TypeError, ValueError) as exc:
                raise ValidationFailed(
                    f"{path}: row {number}: weight {rec['weight']!r} is not a number",
                    field="weight",
                    fix="weights are integers 1-7",
                ) from exc
            weights[term] = max(weight, weights.get(term, 0.0))
    return weights


def parse_disease_symptom(path: Path, weights_path: Path | None = None) -> Iterator[Parsed]:
    """Parse the table; row numbers are file lines (the header is line 1)."""
    weights_file = weights_path or path.with_name(SEVERITY_FILE)
    weights = load_weights(weights_file) if weights_file.exists() else {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        if (
            not header
            or header[0] != "Disease"
            or not all(h.startswith("Symptom_") for h in header[1:])
        ):
            raise ValidationFailed(
                f"{path}: header must be 'Disease,Symptom_1,...,Symptom_17'",
                field="header",
                fix="give the disease-symptom table (dataset.csv) or pick another --format",
            )
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            disease = disease_of(cells[0])
            if disease is None:
                yield [
                    RowError(
                        row=number,
                        field="Disease",
                        reason=f"{cells[0].strip()!r} is not in the consortium disease "
                        "list (hospital/emr/vocabulary.py DISEASES)",
                    )
                ]
                continue
            terms: list[str] = []
            for cell in cells[1:]:
                term = normalize_term(cell)
                if term and term not in terms:
                    terms.append(term)
            try:
                symptoms = tuple(
                    Symptom(
                        name=t,
                        severity=round(weights[t] / MAX_WEIGHT * 10, 3) if t in weights else None,
                    )
                    for t in terms
                )
                case = CaseRecord(
                    patient_id=f"ds-{number:06d}",
                    symptoms=symptoms,
                    diagnosis=Diagnosis(disease=Disease(icd10=disease[0], name=disease[1])),
                )
            except ValidationError as exc:
                yield errors_from(exc, number)
                continue
            yield NewCase(case=case, source=path.name, ref=f"row {number:06d}")
