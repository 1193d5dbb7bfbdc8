"""The evidence of a suggestion: each matched case's per-attribute terms, as the reference has them.

``similarity.case_similarity`` is the readable form of Sim(i, j) and its terms; this is the
same arithmetic written for speed, because a suggestion explains its ~10 matches with ~50
terms on every query: the facet formulas are inlined (no call or list per facet), the
library case's names are normalised once per case, and φ and u are read once per query.
The numbers are the reference's, float for float (``tests/unit/diagnosis`` compares them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from diagnosis.similarity import (
    SEVERITY_SCALE,
    AttributeContribution,
    Facet,
    QueryFindings,
    SimilarityConfig,
    lab_scale,
    lab_similarity,
    normalise_term,
)
from hospital.emr.records import CaseRecord, Onset

_PRESENCE, _DURATION, _ONSET, _SEVERITY, _VALUE = (
    Facet.PRESENCE,
    Facet.DURATION,
    Facet.ONSET,
    Facet.SEVERITY,
    Facet.VALUE,
)
_UNKNOWN = Onset.UNKNOWN
_Term = tuple[str, Facet, float, float]


def case_contributions(
    library_cases: Sequence[CaseRecord],
    query: QueryFindings,
    weights: Mapping[str, float],
    config: SimilarityConfig,
) -> list[list[AttributeContribution]]:
    """``case_similarity(case, query, …).contributions`` of each library case, as lists."""
    f = config.facets
    phi = (f.presence, f.duration, f.onset, f.severity)
    return [_terms(case, query, weights, config, phi) for case in library_cases]


def _terms(
    case: CaseRecord,
    found: QueryFindings,
    weights: Mapping[str, float],
    config: SimilarityConfig,
    phi: tuple[float, float, float, float],
) -> list[AttributeContribution]:
    u, matrix = config.unknown_similarity, config.onset_matrix
    phi_p, phi_d, phi_o, phi_s = phi
    raw: list[_Term] = []
    seen: set[str] = set()
    for s in case.symptoms:
        name = normalise_term(s.name)
        if name in seen:  # the first of a repeated name counts
            continue
        seen.add(name)
        key = f"symptom:{name}"
        w = float(weights.get(key, 1.0))
        q = found.symptoms.get(name)
        raw.append((key, _PRESENCE, w * phi_p, 1.0 if q is not None else 0.0))
        if (d := s.duration_days) is not None:
            if q is None:
                sim = 0.0
            elif (qd := q.duration_days) is None:
                sim = u
            else:
                hi = max(d, qd)
                sim = 1.0 if hi <= 0.0 else 1.0 - abs(d - qd) / hi
            raw.append((key, _DURATION, w * phi_d, sim))
        if s.onset is not _UNKNOWN:
            if q is None:
                sim = 0.0
            elif q.onset is _UNKNOWN:
                sim = u
            else:
                sim = float(matrix[s.onset][q.onset])
            raw.append((key, _ONSET, w * phi_o, sim))
        if (v := s.severity) is not None:
            if q is None:
                sim = 0.0
            elif (qv := q.severity) is None:
                sim = u
            else:
                sim = max(0.0, 1.0 - abs(v - qv) / SEVERITY_SCALE)
            raw.append((key, _SEVERITY, w * phi_s, sim))
    seen.clear()
    for lab in case.labs:
        name = normalise_term(lab.name)
        if name in seen:
            continue
        seen.add(name)
        key = f"lab:{name}"
        w = float(weights.get(key, 1.0))
        ql = found.labs.get(name)
        sim = u if ql is None else lab_similarity(lab.value, ql.value, lab_scale(lab, ql))
        raw.append((key, _VALUE, w, sim))
    total = math.fsum([t[2] for t in raw])
    if total <= 0.0:
        return []
    return [AttributeContribution(k, facet, w, sim, w * sim / total) for k, facet, w, sim in raw]
