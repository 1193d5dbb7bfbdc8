"""Recommendation: matched cases + the model's distribution → ranked diagnoses, watch list, plan.

Pure: it takes the matches with their records and contributions and returns wire parts
(the outbound dataclasses of ``diagnosis.schemas``).
"""

from __future__ import annotations

import functools
import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter

from diagnosis.index import Match
from diagnosis.schemas import (
    CaseEvidence,
    ComplicationWatch,
    DiagnosisCandidate,
    TreatmentPlan,
)
from diagnosis.similarity import AttributeContribution
from hospital.emr.records import CaseRecord, Disease, Origin


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The parts of a suggestion computed from matches and the model."""

    diagnoses: list[DiagnosisCandidate]
    complications: list[ComplicationWatch]
    treatment_plan: TreatmentPlan | None
    evidence: list[CaseEvidence]


def case_votes(matches: Sequence[Match], records: Mapping[str, CaseRecord]) -> dict[str, float]:
    """Share of the matches' total similarity held by each disease code (sums to 1, or empty)."""
    votes: dict[str, float] = defaultdict(float)
    for m in matches:
        rec = records.get(m.case_id)
        if rec is not None and rec.diagnosis is not None and m.similarity > 0:
            votes[rec.diagnosis.disease.icd10] += m.similarity
    total = sum(votes.values())
    return {k: v / total for k, v in votes.items()} if total > 0 else {}


def combine(
    votes: Mapping[str, float], model: Mapping[str, float] | None, alpha: float
) -> dict[str, float]:
    """score(d) = α·P_model(d) + (1−α)·vote(d); either part alone when the other is absent."""
    if not model:
        return dict(votes)
    # one pass per step over the model's codes (a consortium model has dozens): this runs
    # for every suggestion; `p if p > 0 else 0.0` is max(0.0, p), NaN included
    codes, _ = _upper_codes(tuple(model))
    clipped = [p if p > 0.0 else 0.0 for p in model.values()]
    total = sum(clipped)
    probs: dict[str, float] = (
        dict(zip(codes, [c / total for c in clipped], strict=True)) if total > 0 else {}
    )
    if not votes:
        return probs
    # α·p + (1−α)·vote with the vote 0 for most codes: (1−α)·0.0 once, then the votes' codes
    rest = 1 - alpha
    zero = rest * 0.0
    scores = {d: alpha * p + zero for d, p in probs.items()}
    for d, v in votes.items():
        scores[d] = alpha * probs.get(d, 0.0) + rest * v
    return scores


@functools.lru_cache(maxsize=64)  # a model's codes are the same tuple for every suggestion
def _upper_codes(codes: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """The codes in upper case, and whether they were given so."""
    upper = tuple(code.upper() for code in codes)
    return upper, upper == codes


def top_scores(scores: Mapping[str, float], n: int) -> list[tuple[str, float]]:
    """The n best (code, score), best first, equal scores by code.

    The same as sorting every item, but only those at least as good as the n-th are sorted
    (a model scores every disease of the schema).
    """
    if len(scores) > n > 0:
        floor = heapq.nlargest(n, scores.values())[-1]
        scores = {code: s for code, s in scores.items() if s >= floor}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def recommend(
    matches: Sequence[Match],
    records: Mapping[str, CaseRecord],
    contributions: Mapping[str, Sequence[AttributeContribution]],
    *,
    model_distribution: Mapping[str, float] | None = None,
    alpha: float = 0.5,
    max_diagnoses: int = 5,
    disease_names: Mapping[str, str] | None = None,
) -> Recommendation:
    """Rank diagnoses, list complications of the leader, pick its plan, lay out the evidence.

    ``disease_names`` (ICD-10 → name, e.g. the consortium schema's) names diseases that only
    the model proposes; names on matched cases come first.
    """
    votes = case_votes(matches, records)
    scores = combine(votes, model_distribution, alpha)
    names: dict[str, str] = {}
    support: dict[str, int] = defaultdict(int)
    for m in matches:
        rec = records.get(m.case_id)
        if rec is not None and rec.diagnosis is not None:
            names.setdefault(rec.diagnosis.disease.icd10, rec.diagnosis.disease.name)
            support[rec.diagnosis.disease.icd10] += 1
    ranked = top_scores(scores, max_diagnoses)
    probs: Mapping[str, float] = {}
    if model_distribution:
        codes, as_given = _upper_codes(tuple(model_distribution))
        probs = (
            model_distribution
            if as_given
            else dict(zip(codes, model_distribution.values(), strict=True))
        )
    diagnoses = [
        DiagnosisCandidate(
            disease=_disease(code, names.get(code) or (disease_names or {}).get(code) or code),
            score=score,
            case_vote=votes.get(code, 0.0),
            model_probability=probs.get(code) if model_distribution else None,
            supporting_cases=support.get(code, 0),
        )
        for code, score in ranked
    ]
    leader = diagnoses[0].disease.icd10 if diagnoses else None
    same = [
        (m, records[m.case_id])
        for m in matches
        if m.case_id in records
        and records[m.case_id].diagnosis is not None
        and records[m.case_id].diagnosis.disease.icd10 == leader  # type: ignore[union-attr]
    ]
    return Recommendation(
        diagnoses=diagnoses,
        complications=_complications(same),
        treatment_plan=_plan(same),
        evidence=_evidence(matches, records, contributions),
    )


@functools.lru_cache(maxsize=4096)  # a consortium names tens of diseases; models are frozen
def _disease(icd10: str, name: str) -> Disease:
    return Disease(icd10=icd10, name=name)


def _complications(same: Sequence[tuple[Match, CaseRecord]]) -> list[ComplicationWatch]:
    weight: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    total = sum(m.similarity for m, _ in same)
    for m, rec in same:
        assert rec.diagnosis is not None
        for c in dict.fromkeys(rec.diagnosis.complications):
            weight[c] += m.similarity
            count[c] += 1
    if total <= 0:
        return []
    return [
        ComplicationWatch(name=c, support=w / total, cases=count[c])
        for c, w in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _plan(same: Sequence[tuple[Match, CaseRecord]]) -> TreatmentPlan | None:
    with_plan = [(m, r) for m, r in same if r.treatments]
    validated = [(m, r) for m, r in with_plan if r.origin is Origin.DOCTOR_VALIDATED]
    pool = validated or with_plan
    if not pool:
        return None
    m, rec = max(pool, key=lambda mr: mr[0].similarity)  # first of equals: best-ranked match
    return TreatmentPlan(
        source_case_id=m.case_id,
        similarity=m.similarity,
        doctor_validated=rec.origin is Origin.DOCTOR_VALIDATED,
        treatments=list(rec.treatments),
    )


def _evidence(
    matches: Sequence[Match],
    records: Mapping[str, CaseRecord],
    contributions: Mapping[str, Sequence[AttributeContribution]],
) -> list[CaseEvidence]:
    out = []
    for m in matches:
        rec = records.get(m.case_id)
        contribs = contributions.get(m.case_id, ())
        out.append(
            CaseEvidence(
                case_id=m.case_id,
                similarity=m.similarity,
                disease=rec.diagnosis.disease if rec is not None and rec.diagnosis else None,
                origin=rec.origin if rec is not None else Origin.IMPORTED,
                contributions=sorted(contribs, key=_BY_CONTRIBUTION, reverse=True),
            )
        )
    return out


_BY_CONTRIBUTION = attrgetter("contribution")  # reverse=True keeps equal shares in order
