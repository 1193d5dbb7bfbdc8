"""FHIR R4 transaction bundles → CaseRecords, parsed with fhir.resources' R4B models.

fhir.resources 8 defaults to R5, which refuses Synthea's R4 bundles (e.g. Organization.telecom);
its R4B package parses them. One case per Condition: its encounter's Observations become labs
(LOINC kept), MedicationRequests of that encounter (or whose reasonReference names the
Condition) become treatments (RxNorm kept), the SNOMED code is kept and mapped to ICD-10.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from hospital.emr.identity import national_id_token
from hospital.emr.importers.fhir_codes import (
    DRUG_ALIASES,
    LOINC_TO_LAB,
    SNOMED_TO_ICD10,
    UNMAPPED_ICD10,
)
from hospital.emr.importers.report import Parsed, RowError, errors_from
from hospital.emr.records import (
    CaseRecord,
    Diagnosis,
    Disease,
    LabValue,
    Route,
    Treatment,
    normalize_term,
)
from hospital.emr.store import NewCase
from hospital.emr.vocabulary import LABS
from node.errors import ValidationFailed

SSN = "http://hl7.org/fhir/sid/us-ssn"
_LEADING_AMOUNT = re.compile(r"^(\d+(\.\d+)?\s*(ML|ACTUAT|HR)\s+)+", re.IGNORECASE)
_DOSE = re.compile(r"(\d+(?:\.\d+)?)\s*(MG/ML|MG|MCG|ML)\b", re.IGNORECASE)


def _coding(concept: Any, system_part: str) -> tuple[str | None, str | None]:
    for coding in (concept.coding or []) if concept else []:
        if system_part in (coding.system or ""):
            return coding.code, coding.display
    return None, None


def _route(display: str) -> Route:
    text = display.lower()
    for needle, route in (
        ("auto-injector", Route.INTRAMUSCULAR),
        ("inhal", Route.INHALED),
        ("inject", Route.INTRAVENOUS),
        ("oral", Route.ORAL),
        ("topical", Route.TOPICAL),
        ("cream", Route.TOPICAL),
    ):
        if needle in text:
            return route
    return Route.OTHER


def drug_name(display: str) -> str:
    """'2 ML Ondansetron 2 MG/ML Injection' → 'ondansetron'; aliases map to consortium names."""
    text = _LEADING_AMOUNT.sub("", display.strip())
    head = re.split(r"\s\d|\s/\s|\d+mg", text, maxsplit=1)[0]
    name = normalize_term(head)
    return DRUG_ALIASES.get(name, name)


def _treatment(med: Any) -> Treatment:
    rxnorm, display = _coding(med.medicationCodeableConcept, "rxnorm")
    display = display or (
        med.medicationCodeableConcept.text if med.medicationCodeableConcept else ""
    )
    dose_match = _DOSE.search(display or "")
    per_day = None
    for instruction in med.dosageInstruction or []:
        repeat = instruction.timing.repeat if instruction.timing else None
        if repeat and repeat.frequency and repeat.period:
            hours = {"h": 1, "d": 24, "wk": 168}.get(repeat.periodUnit or "d", 24)
            per_day = round(repeat.frequency * 24 / (float(repeat.period) * hours), 4)
    return Treatment(
        drug=drug_name(display or "unknown"),
        route=_route(display or ""),
        dose=float(dose_match.group(1)) if dose_match else None,
        dose_unit=dose_match.group(2).lower() if dose_match else "",
        frequency_per_day=per_day,
        rxnorm=rxnorm,
    )


def _labs(obs: Any) -> list[LabValue]:
    parts = [(obs.code, obs.valueQuantity)]
    parts += [(c.code, c.valueQuantity) for c in (obs.component or [])]
    out = []
    for code, quantity in parts:
        if quantity is None or quantity.value is None:
            continue
        loinc, display = _coding(code, "loinc")
        if loinc in LOINC_TO_LAB:
            name, factor = LOINC_TO_LAB[loinc]
            unit, low, high, _ = LABS[name]
            out.append(
                LabValue(
                    name=name,
                    value=round(float(quantity.value) * factor, 6),
                    unit=unit,
                    normal_low=low,
                    normal_high=high,
                    loinc=loinc,
                )
            )
        else:
            out.append(
                LabValue(
                    name=normalize_term(display or code.text or "observation"),
                    value=float(quantity.value),
                    unit=quantity.unit or "",
                    loinc=loinc,
                )
            )
    return out


def _ref(reference: Any) -> str | None:
    return reference.reference if reference is not None else None


def parse_fhir(path: Path, salt: bytes | None = None) -> Iterator[Parsed]:
    """Parse one transaction bundle; a case's row is its Condition's fullUrl."""
    try:
        bundle = Bundle.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(
            f"{path}: not a FHIR R4 bundle: {'.'.join(map(str, first['loc']))}: {first['msg']}",
            field=".".join(map(str, first["loc"])),
            fix="give a FHIR R4 Bundle (JSON)",
        ) from exc
    by_type: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for entry in bundle.entry or []:
        res = entry.resource
        if res is None:
            continue
        full = entry.fullUrl or f"{res.get_resource_type()}/{res.id}"
        by_type[res.get_resource_type()].append((full, res))
    patients = by_type.get("Patient", [])
    if len(patients) != 1:
        raise ValidationFailed(
            f"{path}: expected one Patient, found {len(patients)}",
            field="Patient",
            fix="one patient per bundle",
        )
    patient = patients[0][1]
    pseudonym = f"fhir-{patient.id}"
    ssn = next((i.value for i in patient.identifier or [] if i.system == SSN), None)
    token = national_id_token(ssn, salt) if ssn and salt else None
    obs_by_enc: dict[str | None, list[Any]] = defaultdict(list)
    for _, obs in by_type.get("Observation", []):
        obs_by_enc[_ref(obs.encounter)].append(obs)
    meds = by_type.get("MedicationRequest", [])
    for full, cond in by_type.get("Condition", []):
        encounter = _ref(cond.encounter)
        snomed, display = _coding(cond.code, "snomed")
        icd, _ = _coding(cond.code, "icd-10")
        try:
            labs = [lab for o in obs_by_enc.get(encounter, []) for lab in _labs(o)]
            treatments = [
                _treatment(m)
                for _, m in meds
                if full in [_ref(r) for r in m.reasonReference or []]
                or (not m.reasonReference and encounter and _ref(m.encounter) == encounter)
            ]
            onset = cond.onsetDateTime or cond.recordedDate
            case = CaseRecord(
                patient_id=pseudonym,
                date=onset.date() if onset else None,
                labs=tuple(labs),
                treatments=tuple(treatments),
                diagnosis=Diagnosis(
                    disease=Disease(
                        icd10=icd or SNOMED_TO_ICD10.get(snomed or "", UNMAPPED_ICD10),
                        name=display
                        or (cond.code.text if cond.code else None)
                        or "unnamed condition",
                        snomed=snomed,
                    )
                ),
            )
        except ValidationError as exc:
            yield errors_from(exc, full)
            continue
        except (TypeError, ValueError, AttributeError) as exc:
            yield [RowError(row=full, field="Condition", reason=str(exc))]
            continue
        yield NewCase(case=case, source=path.name, ref=full, national_token=token)
