"""The per-attribute similarities and the patent's weighted case similarity: the definition.

Every function here is pure and scalar. ``case_similarity`` is the one definition of
Sim(i, j) = Σ_p w_p·Sim(i_p, j_p) / Σ_p w_p with p over the attributes of library case i,
and its per-attribute terms are the evidence a suggestion shows. ``diagnosis.index`` (over
the compiled ``diagnosis.kernels``) computes the same numbers for a whole library at once,
in float32; property tests hold it to this module. Formulas and the treatment of missing
values are documented in docs/diagnosis.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hospital.emr.records import (
    CaseRecord,
    LabValue,
    Onset,
    Symptom,
    lab_key,
    normalize_term,
    symptom_key,
)

SEVERITY_SCALE = 10.0
KNOWN_ONSETS: tuple[Onset, ...] = tuple(o for o in Onset if o is not Onset.UNKNOWN)

_Named = TypeVar("_Named", Symptom, LabValue)


class Facet(StrEnum):
    """The parts of a symptom attribute, plus a lab value."""

    PRESENCE = "presence"
    DURATION = "duration"
    ONSET = "onset"
    SEVERITY = "severity"
    VALUE = "value"


SYMPTOM_FACETS: tuple[Facet, ...] = (Facet.PRESENCE, Facet.DURATION, Facet.ONSET, Facet.SEVERITY)


class FacetWeights(BaseModel):
    """Relative weight φ_f of each symptom facet; an attribute's weight is w_symptom·φ_f."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    presence: float = Field(default=1.0, ge=0)
    duration: float = Field(default=0.5, ge=0)
    onset: float = Field(default=0.5, ge=0)
    severity: float = Field(default=0.5, ge=0)

    def of(self, facet: Facet) -> float:
        """The weight of one symptom facet."""
        return float(getattr(self, facet.value))


def default_onset_matrix() -> dict[str, dict[str, float]]:
    """Identity over the known onsets: the same onset is 1, any other is 0."""
    return {a.value: {b.value: float(a is b) for b in KNOWN_ONSETS} for a in KNOWN_ONSETS}


class SimilarityConfig(BaseModel):
    """How attribute similarities are computed and combined (everything but the weights w_p)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    facets: FacetWeights = FacetWeights()
    onset_matrix: dict[str, dict[str, float]] = Field(
        default_factory=default_onset_matrix,
        description="similarity of two known onsets, rows/columns = records.Onset values "
        "except 'unknown'; missing pairs fall back to the identity",
    )
    unknown_similarity: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Sim of an attribute the library case records but the query leaves "
        "unknown (a facet of a symptom both have, or a lab the query lacks)",
    )

    @field_validator("onset_matrix")
    @classmethod
    def _matrix_is_valid(cls, m: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        known = {o.value for o in KNOWN_ONSETS}
        full = default_onset_matrix()
        for a, row in m.items():
            for b, v in row.items():
                if a not in known or b not in known:
                    raise ValueError(f"onset_matrix[{a!r}][{b!r}]: use one of {sorted(known)}")
                if not 0.0 <= v <= 1.0:
                    raise ValueError(f"onset_matrix[{a!r}][{b!r}] = {v}: must be in [0, 1]")
                full[a][b] = float(v)
        return full

    def onset_similarity(self, a: Onset, b: Onset) -> float | None:
        """Similarity of two onsets; None when either is unknown (nothing to compare)."""
        return onset_similarity(a, b, self.onset_matrix)


# ---------------------------------------------------------------- attribute similarities


def duration_similarity(a: float, b: float) -> float:
    """1 − |a−b| / max(a, b); two zero durations are identical (1)."""
    hi = max(a, b)
    if hi <= 0.0:
        return 1.0
    return 1.0 - abs(a - b) / hi


def severity_similarity(a: float, b: float, scale: float = SEVERITY_SCALE) -> float:
    """Ordinal distance on the 0–10 scale: 1 − |a−b| / 10."""
    return max(0.0, 1.0 - abs(a - b) / scale)


def onset_similarity(a: Onset, b: Onset, matrix: Mapping[str, Mapping[str, float]]) -> float | None:
    """Matrix lookup for two known onsets; None when either is UNKNOWN."""
    if a is Onset.UNKNOWN or b is Onset.UNKNOWN:
        return None
    return float(matrix[a][b])  # a StrEnum member is its value as a key (and `.value` is slow)


def lab_scale(case_lab: LabValue, query_lab: LabValue) -> float | None:
    """Width of the normal range to read a difference against: the case's, else the query's."""
    for lab in (case_lab, query_lab):
        if lab.normal_low is not None and lab.normal_high is not None:
            width = lab.normal_high - lab.normal_low
            if width > 0:
                return width
    return None


def lab_similarity(a: float, b: float, width: float | None) -> float:
    """Range-normalised: max(0, 1 − |a−b| / (high − low)); without a range, relative difference.

    The relative fallback is 1 − |a−b| / max(|a|, |b|) (1 when both are 0).
    """
    if width is not None and width > 0:
        return max(0.0, 1.0 - abs(a - b) / width)
    hi = max(abs(a), abs(b))
    if hi <= 0.0:
        return 1.0
    return max(0.0, 1.0 - abs(a - b) / hi)


# ---------------------------------------------------------------- the patent's combination


@dataclass(slots=True)
class AttributeContribution:
    """One attribute p of a matched case: w_p, Sim(i_p, j_p) and w_p·Sim / Σ w (its share)."""

    # Also the wire type of the evidence (``schemas.CaseEvidence``). A plain slotted
    # dataclass: pydantic takes its instances as they are (7 µs for a suggestion's ~50,
    # against 44 µs validating NamedTuples into models), and it builds in 0.11 µs, against
    # 0.19 µs for a NamedTuple and 0.46 µs for a frozen dataclass. Treat it as immutable.
    __pydantic_config__ = ConfigDict(extra="forbid")

    attribute: Annotated[str, Field(description="'symptom:<name>' or 'lab:<name>'")]
    facet: Facet
    weight: float
    similarity: float
    contribution: float


@dataclass(frozen=True, slots=True)
class SimilarityBreakdown:
    """Sim(i, j) with the per-attribute terms it was built from."""

    similarity: float
    contributions: tuple[AttributeContribution, ...]


def first_by_name(items: tuple[_Named, ...]) -> dict[str, _Named]:
    """Items keyed by normalised name; the first occurrence of a repeated name wins."""
    out: dict[str, _Named] = {}
    for item in items:
        out.setdefault(normalize_term(item.name), item)
    return out


def symptom_terms(
    case_s: Symptom, query_s: Symptom | None, config: SimilarityConfig
) -> list[tuple[Facet, float]]:
    """(facet, Sim) for each facet the library case records; query lacking the symptom → 0."""
    terms: list[tuple[Facet, float]] = [(Facet.PRESENCE, 1.0 if query_s is not None else 0.0)]
    u = config.unknown_similarity
    if case_s.duration_days is not None:
        if query_s is None:
            terms.append((Facet.DURATION, 0.0))
        elif query_s.duration_days is None:
            terms.append((Facet.DURATION, u))
        else:
            terms.append(
                (Facet.DURATION, duration_similarity(case_s.duration_days, query_s.duration_days))
            )
    if case_s.onset is not Onset.UNKNOWN:
        if query_s is None:
            terms.append((Facet.ONSET, 0.0))
        else:
            sim = config.onset_similarity(case_s.onset, query_s.onset)
            terms.append((Facet.ONSET, u if sim is None else sim))
    if case_s.severity is not None:
        if query_s is None:
            terms.append((Facet.SEVERITY, 0.0))
        elif query_s.severity is None:
            terms.append((Facet.SEVERITY, u))
        else:
            terms.append((Facet.SEVERITY, severity_similarity(case_s.severity, query_s.severity)))
    return terms


@dataclass(frozen=True, slots=True)
class QueryFindings:
    """A query's symptoms and labs keyed by normalised name (first of a repeated name).

    Build it once with ``of`` when one query is compared with many library cases.
    """

    symptoms: dict[str, Symptom]
    labs: dict[str, LabValue]

    @classmethod
    def of(cls, query: CaseRecord) -> QueryFindings:
        """The findings of ``query`` by name."""
        return cls(first_by_name(query.symptoms), first_by_name(query.labs))


@functools.lru_cache(maxsize=64)  # one entry per facet-weight setting in use
def _facet_weights(facets: FacetWeights) -> dict[Facet, float]:
    return {f: facets.of(f) for f in SYMPTOM_FACETS}


def case_similarity(
    library_case: CaseRecord,
    query: CaseRecord | QueryFindings,
    weights: Mapping[str, float],
    config: SimilarityConfig | None = None,
    *,
    default_weight: float = 1.0,
) -> SimilarityBreakdown:
    """Sim(i, j) = Σ_p w_p·Sim(i_p, j_p) / Σ_p w_p, p over the attributes of ``library_case``.

    ``weights`` maps attribute keys (``symptom:<name>``, ``lab:<name>``) to w; a symptom
    facet's weight is w_symptom·φ_facet. A case with no weighted attribute has Sim 0.
    """
    config = config or SimilarityConfig()
    found = query if isinstance(query, QueryFindings) else QueryFindings.of(query)
    phi = _facet_weights(config.facets)
    contributions = tuple(_contributions(library_case, found, weights, config, phi, default_weight))
    return SimilarityBreakdown(math.fsum(c.contribution for c in contributions), contributions)


def _contributions(
    library_case: CaseRecord,
    found: QueryFindings,
    weights: Mapping[str, float],
    config: SimilarityConfig,
    phi: Mapping[Facet, float],
    default_weight: float,
) -> list[AttributeContribution]:
    """Each attribute's w_p, Sim(i_p, j_p) and share w_p·Sim / Σ w (none when Σ w = 0)."""
    raw: list[tuple[str, Facet, float, float]] = []
    for name, s in first_by_name(library_case.symptoms).items():
        key = symptom_key(name)
        w = float(weights.get(key, default_weight))
        for facet, sim in symptom_terms(s, found.symptoms.get(name), config):
            raw.append((key, facet, w * phi[facet], sim))
    for name, lab in first_by_name(library_case.labs).items():
        key = lab_key(name)
        w = float(weights.get(key, default_weight))
        q = found.labs.get(name)
        if q is None:
            sim = config.unknown_similarity
        else:
            sim = lab_similarity(lab.value, q.value, lab_scale(lab, q))
        raw.append((key, Facet.VALUE, w, sim))
    total = math.fsum([w for _, _, w, _ in raw])
    if total <= 0.0:
        return []
    return [AttributeContribution(k, f, w, s, w * s / total) for k, f, w, s in raw]
