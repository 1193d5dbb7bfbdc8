"""Recommendation: case votes with the model's distribution, watch list, plan choice, evidence."""

from __future__ import annotations

import pytest

from diagnosis.index import Match
from diagnosis.recommend import combine, recommend
from diagnosis.similarity import AttributeContribution, Facet
from hospital.emr.records import CaseRecord, Diagnosis, Disease, Origin, Treatment

ANGINA = Disease(icd10="I20.9", name="Angina pectoris")
REFLUX = Disease(icd10="K21.9", name="Gastro-oesophageal reflux")


def rec(
    cid: str, disease: Disease, drug: str, origin: Origin, comps: tuple[str, ...] = ()
) -> CaseRecord:
    return CaseRecord(
        case_id=cid,
        patient_id="p",
        diagnosis=Diagnosis(disease=disease, complications=comps),
        treatments=(Treatment(drug=drug),),
        origin=origin,
    )


RECORDS = {
    "a": rec("a", ANGINA, "aspirin-imported", Origin.IMPORTED, ("arrhythmia",)),
    "b": rec("b", ANGINA, "aspirin-validated", Origin.DOCTOR_VALIDATED, ("arrhythmia", "MI")),
    "c": rec("c", REFLUX, "omeprazole", Origin.DOCTOR_VALIDATED),
}
MATCHES = [Match(0, "a", 0.9), Match(1, "b", 0.6), Match(2, "c", 0.5)]


def test_case_vote_is_the_similarity_share_of_each_disease() -> None:
    r = recommend(MATCHES, RECORDS, {})
    assert [d.disease.icd10 for d in r.diagnoses] == ["I20.9", "K21.9"]
    assert r.diagnoses[0].case_vote == pytest.approx(1.5 / 2.0)
    assert r.diagnoses[0].supporting_cases == 2 and r.diagnoses[0].model_probability is None


def test_model_distribution_is_mixed_in_with_alpha_and_can_overturn_the_cases() -> None:
    r = recommend(MATCHES, RECORDS, {}, model_distribution={"k21.9": 0.9, "I20.9": 0.1}, alpha=0.8)
    assert r.diagnoses[0].disease == REFLUX
    assert r.diagnoses[0].score == pytest.approx(0.8 * 0.9 + 0.2 * 0.25)
    assert r.diagnoses[0].model_probability == pytest.approx(0.9)


def test_model_alone_ranks_when_no_case_passes_the_threshold() -> None:
    assert combine({}, {"A": 3.0, "B": 1.0}, 0.5) == {"A": 0.75, "B": 0.25}
    r = recommend([], {}, {}, model_distribution={"J18.9": 1.0})
    assert r.diagnoses[0].disease.icd10 == "J18.9" and r.treatment_plan is None


def test_plan_comes_from_the_best_doctor_validated_case_of_the_leading_diagnosis() -> None:
    r = recommend(MATCHES, RECORDS, {})
    assert r.treatment_plan is not None
    assert (r.treatment_plan.source_case_id, r.treatment_plan.doctor_validated) == ("b", True)


def test_plan_falls_back_to_an_imported_case_and_says_so() -> None:
    r = recommend(MATCHES[:1], RECORDS, {})
    assert r.treatment_plan is not None and not r.treatment_plan.doctor_validated


def test_complications_are_weighted_by_the_similarity_of_leading_diagnosis_cases() -> None:
    r = recommend(MATCHES, RECORDS, {})
    assert [(c.name, round(c.support, 3), c.cases) for c in r.complications] == [
        ("arrhythmia", 1.0, 2),
        ("MI", 0.4, 1),
    ]


def test_evidence_lists_every_match_with_contributions_largest_first() -> None:
    contribs = {
        "a": [
            AttributeContribution("symptom:fever", Facet.PRESENCE, 1.0, 1.0, 0.2),
            AttributeContribution("lab:crp", Facet.VALUE, 2.0, 0.7, 0.7),
        ]
    }
    r = recommend(MATCHES, RECORDS, contribs)
    assert [e.case_id for e in r.evidence] == ["a", "b", "c"]
    assert [c.attribute for c in r.evidence[0].contributions] == ["lab:crp", "symptom:fever"]
    assert r.evidence[1].origin is Origin.DOCTOR_VALIDATED


def _combine_reference(votes, model, alpha):
    """The formula as first written (sets and three dict passes)."""
    if not model:
        return dict(votes)
    total = sum(max(0.0, p) for p in model.values())
    probs = {k.upper(): max(0.0, p) / total for k, p in model.items()} if total > 0 else {}
    if not votes:
        return probs
    codes = set(votes) | set(probs)
    return {d: alpha * probs.get(d, 0.0) + (1 - alpha) * votes.get(d, 0.0) for d in codes}


def test_combine_gives_the_reference_formula_s_floats_exactly() -> None:
    import random

    rng = random.Random(8)
    codes = [f"C{i:02d}" for i in range(40)]
    for trial in range(300):
        model = {
            c.lower() if rng.random() < 0.2 else c: rng.choice(
                [0.0, -0.1, float("nan"), rng.random(), rng.random() ** 8]
            )
            for c in rng.sample(codes, rng.randint(0, 40))
        }
        picked = rng.sample(codes, rng.randint(0, 4))
        votes = {c: rng.random() for c in picked}
        alpha = rng.choice([0.0, 0.3, 0.5, 1.0])
        assert combine(votes, model, alpha) == _combine_reference(votes, model, alpha), trial


def test_top_scores_equal_a_full_sort_ties_included() -> None:
    import random

    from diagnosis.recommend import top_scores

    rng = random.Random(5)
    for _ in range(300):
        scores = {
            f"C{i:02d}": rng.choice([0.0, 0.25, 0.5, rng.random()])
            for i in rng.sample(range(60), rng.randint(0, 60))
        }
        n = rng.choice([0, 1, 3, 5, 80])
        assert top_scores(scores, n) == sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
