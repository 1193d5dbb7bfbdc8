"""Properties of Sim(i, j) on random cases: identity, scale invariance, fast index == definition."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnosis.index import CaseIndex
from diagnosis.similarity import FacetWeights, SimilarityConfig, case_similarity
from hospital.emr.records import CaseRecord, LabValue, Onset, Symptom

SYMPTOM_NAMES = ["fever", "cough", "chest_pain", "Chest Pain", "headache", "nausea"]
LAB_NAMES = ["temperature", "wbc", "crp"]

durations = st.one_of(
    st.none(), st.just(0.0), st.floats(0, 400, allow_nan=False).map(lambda x: round(x, 2))
)
severities = st.one_of(st.none(), st.integers(0, 10).map(float))
symptoms = st.builds(
    Symptom,
    name=st.sampled_from(SYMPTOM_NAMES),
    duration_days=durations,
    onset=st.sampled_from(list(Onset)),
    severity=severities,
)


@st.composite
def labs(draw: st.DrawFn) -> LabValue:
    low = draw(st.one_of(st.none(), st.integers(-5, 50).map(float)))
    high = None if low is None else low + draw(st.sampled_from([0.0, 1.0, 4.0, 20.0]))
    return LabValue(
        name=draw(st.sampled_from(LAB_NAMES)),
        value=float(draw(st.integers(-10, 80))) / 2,
        normal_low=low,
        normal_high=high,
    )


def cases(case_id: str | None = None) -> st.SearchStrategy[CaseRecord]:
    return st.builds(
        CaseRecord,
        case_id=st.just(case_id),
        patient_id=st.just("p"),
        symptoms=st.lists(symptoms, max_size=5).map(tuple),
        labs=st.lists(labs(), max_size=3).map(tuple),
    )


@st.composite
def libraries(draw: st.DrawFn, max_size: int = 30) -> list[CaseRecord]:
    n = draw(st.integers(1, max_size))
    return [draw(cases(f"c{i}")) for i in range(n)]


weight_maps = st.dictionaries(
    st.sampled_from(
        [f"symptom:{n}" for n in ["fever", "cough", "chest_pain", "headache", "nausea"]]
        + [f"lab:{n}" for n in LAB_NAMES]
    ),
    st.one_of(st.just(0.0), st.floats(1e-3, 5, allow_nan=False)),
)


@given(case=cases("c0"), weights=weight_maps)
def test_a_case_is_fully_similar_to_itself(case: CaseRecord, weights: dict[str, float]) -> None:
    b = case_similarity(case, case, weights)
    if any(c.weight > 0 for c in b.contributions):
        assert math.isclose(b.similarity, 1.0)
    else:  # no weighted attribute: nothing to compare, Sim is defined as 0
        assert b.similarity == 0.0


@given(case=cases("c0"), query=cases(), weights=weight_maps, scale=st.floats(0.01, 1000))
def test_scaling_every_weight_leaves_similarity_unchanged(
    case: CaseRecord, query: CaseRecord, weights: dict[str, float], scale: float
) -> None:
    keys = {c.attribute for c in case_similarity(case, query, {}).contributions}
    full = {k: weights.get(k, 1.0) for k in keys}
    scaled = {k: v * scale for k, v in full.items()}
    a = case_similarity(case, query, full).similarity
    b = case_similarity(case, query, scaled).similarity
    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@given(case=cases("c0"), query=cases(), weights=weight_maps)
def test_similarity_is_a_weighted_mean_within_unit_interval(
    case: CaseRecord, query: CaseRecord, weights: dict[str, float]
) -> None:
    b = case_similarity(case, query, weights)
    assert 0.0 <= b.similarity <= 1.0 + 1e-12
    assert math.isclose(b.similarity, sum(c.contribution for c in b.contributions), abs_tol=1e-12)


facet_weights = st.builds(
    FacetWeights,
    presence=st.sampled_from([0.0, 0.7, 1.0]),
    duration=st.sampled_from([0.0, 0.5, 1.3]),
    onset=st.sampled_from([0.0, 0.5, 2.0]),
    severity=st.sampled_from([0.0, 0.5, 2.0]),
)
known_onsets = st.sampled_from([o.value for o in Onset if o is not Onset.UNKNOWN])
configs = st.builds(
    SimilarityConfig,
    facets=facet_weights,
    unknown_similarity=st.sampled_from([0.0, 0.5, 1.0]),
    onset_matrix=st.dictionaries(
        known_onsets, st.dictionaries(known_onsets, st.sampled_from([0.0, 0.3, 1.0]))
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    library=libraries(),
    queries=st.lists(cases(), min_size=1, max_size=4),
    weights=weight_maps,
    config=configs,
)
def test_the_compiled_index_scores_and_ranks_as_the_definition(
    library: list[CaseRecord],
    queries: list[CaseRecord],
    weights: dict[str, float],
    config: SimilarityConfig,
) -> None:
    index = CaseIndex(config, capacity=2)
    index.add_many(library)
    for query in queries:
        want = np.array([case_similarity(c, query, weights, config).similarity for c in library])
        np.testing.assert_allclose(index.scores(query, weights), want, atol=2e-5)
        k = max(1, len(library) // 3)
        top = index.top_k(query, weights, k=k)
        np.testing.assert_allclose([m.similarity for m in top], np.sort(want)[::-1][:k], atol=2e-5)
        for m in top:  # each match is the case it names, with its own Sim
            assert abs(m.similarity - want[m.row]) <= 2e-5
        row = len(library) // 2
        per_attr = {
            (c.attribute, c.facet): c.contribution for c in index.contributions(row, query, weights)
        }
        ref = {
            (c.attribute, c.facet): c.contribution
            for c in case_similarity(library[row], query, weights, config).contributions
        }
        assert per_attr.keys() == ref.keys()
        for key, value in ref.items():
            assert math.isclose(per_attr[key], value, abs_tol=2e-5)
