"""Column layouts of V1 (features) and V2 (outcome), derived from a consortium schema.

V1, per symptom term s (10 columns, group ``symptom:s``): present, severity/10,
log1p(duration days)/log1p(3650), onset one-hot (the 7 onsets in schema order).
V1, per lab term l (group ``lab:l``): numeric labs have present and the value scaled so the
normal range maps to [0, 1] (value/100 when the lab has no range), clipped to [-10, 10];
categorical labs have present and a one-hot of their levels.
V2: disease one-hot (``disease:<ICD-10>``), complications multi-hot (``complication:c``),
then per drug d (group ``drug:d``): given, dose/reference dose, frequency per day/4,
log1p(duration days)/log1p(3650), route one-hot (the routes in schema order).
A 0 in a value column means "not recorded": severity, duration, dose or frequency of 0 decode
as None. Terms outside the schema leave no trace (they are reported at import).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hospital.emr.records import lab_key, symptom_key
from hospital.emr.schema import ConsortiumSchema, DrugTerm, LabTerm

LOG_DAYS = math.log1p(3650.0)  # ten years of duration maps to 1.0
FREQ_SCALE = 4.0
CLIP = 10.0


@dataclass(frozen=True)
class V1Layout:
    """Where each feature sits in V1, and which columns belong to which case attribute."""

    columns: tuple[str, ...]
    groups: dict[str, tuple[int, int]]  # attribute ("symptom:fever", "lab:wbc") → [start, stop)
    onsets: tuple[str, ...]
    labs: dict[str, LabTerm] = field(repr=False)

    @property
    def width(self) -> int:
        """Number of V1 columns."""
        return len(self.columns)


@dataclass(frozen=True)
class V2Layout:
    """Where each outcome component sits in V2."""

    columns: tuple[str, ...]
    diseases: dict[str, tuple[int, str]]  # ICD-10 → (column, name)
    complications: dict[str, int]
    drugs: dict[str, tuple[int, DrugTerm]]  # drug → (first column of its group, term)
    routes: tuple[str, ...]

    @property
    def width(self) -> int:
        """Number of V2 columns."""
        return len(self.columns)

    @property
    def disease_slice(self) -> slice:
        """The diagnosis one-hot block."""
        return slice(0, len(self.diseases))

    @property
    def complication_slice(self) -> slice:
        """The complications multi-hot block."""
        start = len(self.diseases)
        return slice(start, start + len(self.complications))


def v1_layout(schema: ConsortiumSchema) -> V1Layout:
    """The V1 layout of ``schema``."""
    columns: list[str] = []
    groups: dict[str, tuple[int, int]] = {}
    for s in schema.symptoms:
        start = len(columns)
        columns += [f"symptom:{s}:present", f"symptom:{s}:severity", f"symptom:{s}:duration"]
        columns += [f"symptom:{s}:onset:{o}" for o in schema.onsets]
        groups[symptom_key(s)] = (start, len(columns))
    for lab in schema.labs:
        start = len(columns)
        columns.append(f"lab:{lab.name}:present")
        if lab.levels:
            columns += [f"lab:{lab.name}:level:{lv:g}" for lv in lab.levels]
        else:
            columns.append(f"lab:{lab.name}:value")
        groups[lab_key(lab.name)] = (start, len(columns))
    labs = {x.name: x for x in schema.labs}
    return V1Layout(tuple(columns), groups, tuple(schema.onsets), labs)


DRUG_PARTS = ("given", "dose", "frequency", "duration")


def v2_layout(schema: ConsortiumSchema) -> V2Layout:
    """The V2 layout of ``schema``."""
    columns = [f"disease:{d.icd10}" for d in schema.diseases]
    diseases = {d.icd10: (i, d.name) for i, d in enumerate(schema.diseases)}
    complications = {}
    for c in schema.complications:
        complications[c] = len(columns)
        columns.append(f"complication:{c}")
    drugs = {}
    for d in schema.drugs:
        drugs[d.name] = (len(columns), d)
        columns += [f"drug:{d.name}:{p}" for p in DRUG_PARTS]
        columns += [f"drug:{d.name}:route:{r}" for r in schema.routes]
    return V2Layout(tuple(columns), diseases, complications, drugs, tuple(schema.routes))
