"""The compiled matcher (float32 loops) scores and ranks as the definition in similarity.py."""

from __future__ import annotations

import random

import numpy as np
import pytest

from diagnosis.columns import F32, CaseColumns
from diagnosis.index import CaseIndex, MatchQuery
from diagnosis.similarity import FacetWeights, SimilarityConfig, case_similarity
from hospital.datagen.generate import synthetic_cases
from hospital.emr.records import CaseRecord, LabValue, Onset, Symptom


def _odd_library() -> list[CaseRecord]:
    """Demo cases plus missing facets, zero durations, labs with and without ranges."""
    odd = [
        CaseRecord(case_id="o1", patient_id="p", symptoms=(Symptom(name="cough"),)),
        CaseRecord(
            case_id="o2",
            patient_id="p",
            symptoms=(Symptom(name="fever", duration_days=0, severity=10, onset=Onset.SUDDEN),),
            labs=(LabValue(name="crp", value=0.0), LabValue(name="sodium", value=-2.0)),
        ),
        CaseRecord(
            case_id="o3",
            patient_id="p",
            labs=(LabValue(name="sodium", value=140, normal_low=135, normal_high=145),),
        ),
    ]
    return list(synthetic_cases(600, seed=21)) + odd


def _random_query(rng: random.Random, index: CaseIndex) -> CaseRecord:
    onsets = list(Onset)
    symptoms = tuple(
        Symptom(
            name=name,
            duration_days=rng.choice([None, 0.0, rng.uniform(0.01, 60), 1e-50]),
            onset=rng.choice(onsets),
            severity=rng.choice([None, float(rng.randint(0, 10)), rng.uniform(0, 10)]),
        )
        for name in rng.sample(index.symptoms, rng.randint(1, 5))
    )
    labs = []
    for name in rng.sample(index.labs, rng.randint(0, min(3, len(index.labs)))):
        ranged = rng.random() < 0.5
        labs.append(
            LabValue(
                name=name,
                value=rng.uniform(-5, 200),
                normal_low=0.0 if ranged else None,
                normal_high=rng.choice([5.0, 0.0]) if ranged else None,
            )
        )
    return CaseRecord(patient_id="q", symptoms=symptoms, labs=tuple(labs))


@pytest.mark.parametrize(
    "config",
    [
        SimilarityConfig(),
        SimilarityConfig(
            facets=FacetWeights(presence=0.7, duration=1.3, onset=0.0, severity=2.0),
            unknown_similarity=0.0,
            onset_matrix={"sudden": {"gradual": 0.4}, "at_rest": {"nocturnal": 0.9}},
        ),
    ],
)
def test_kernel_scores_equal_the_definition_on_odd_libraries(config: SimilarityConfig) -> None:
    library = _odd_library()
    index = CaseIndex(config)
    index.add_many(library)
    rng = random.Random(5)
    weight_sets = [{}, {"symptom:fever": 2.5, "symptom:cough": 0.0, "lab:crp": 0.3}]
    for _ in range(40):
        query, weights = _random_query(rng, index), rng.choice(weight_sets)
        want = [case_similarity(c, query, weights, config).similarity for c in library]
        np.testing.assert_allclose(index.scores(query, weights), want, atol=2e-5)


def test_a_query_duration_below_float32_still_scores_a_number() -> None:
    index = CaseIndex()
    index.add_many(_odd_library())
    query = CaseRecord(patient_id="q", symptoms=(Symptom(name="fever", duration_days=1e-50),))
    sims = index.scores(query, {})
    assert np.isfinite(sims).all()
    row = index.row_of("o2")  # fever for 0 days: against 1e-50 days the duration scores 0
    assert sims[row] == pytest.approx(case_similarity(index.features_of(row), query, {}).similarity)


def _ranked_by_numpy(
    index: CaseIndex, query: CaseRecord, k: int, threshold: float, exclude: list[int]
) -> list[tuple[int, float]]:
    """top_k as the array form ranked: partition for the k-th, lexsort on ties."""
    sims = index.scores(query, {})
    sims[exclude] = -np.inf
    floor = F32(threshold)
    if k < index.n:
        floor = max(np.partition(sims, index.n - k)[index.n - k], floor)
    cand = np.flatnonzero(sims >= floor)
    qs, ql = index._query_rows(query)
    cover = np.zeros(cand.size, dtype=F32)
    for r in qs:
        cover += F32(1) * index.present[r, cand]
    for r in ql:
        cover += F32(1) * ~np.isnan(index.lab_value[r, cand])
    best = cand[np.lexsort((cand, -cover, -sims[cand]))][:k]
    return list(zip(best.tolist(), sims[best].tolist(), strict=True))


def test_top_k_ranks_as_partition_and_lexsort_did_ties_and_exclusions_included() -> None:
    index = CaseIndex()
    index.add_many(_odd_library())
    rng = random.Random(9)
    ties = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(200):
            query = _random_query(rng, index)
            k, threshold = rng.choice([1, 3, 10, 40, 700]), rng.choice([0.0, 0.3, 0.8])
            exclude = rng.sample(range(index.n), rng.choice([0, 0, 3]))
            got = index.top_k(
                query, {}, k=k, threshold=threshold, exclude=[index.case_ids[r] for r in exclude]
            )
            want = _ranked_by_numpy(index, query, k, threshold, exclude)
            assert [(m.row, m.similarity) for m in got] == want
            assert not {m.row for m in got} & set(exclude)
            sims = [s for _, s in want]
            ties += len(set(sims)) < len(sims)
    assert ties > 20  # the tie-break was exercised


def test_a_batch_answers_each_query_as_it_is_answered_alone() -> None:
    index = CaseIndex()
    index.add_many(_odd_library())
    rng = random.Random(4)
    batch = [MatchQuery(_random_query(rng, index), rng.choice([0, 1, 10]), 0.2) for _ in range(40)]
    with np.errstate(invalid="ignore", divide="ignore"):
        together = index.top_k_many(batch, {"symptom:fever": 3.0}, version=7)
        alone = [
            index.top_k(q.query, {"symptom:fever": 3.0}, k=q.k, threshold=q.threshold)
            for q in batch
        ]
    assert together == alone


def test_a_nan_score_from_bulk_columns_is_never_a_match() -> None:
    nan = np.nan
    columns = CaseColumns(
        symptoms=["fever"],
        labs=["crp"],
        present=np.array([[True, True, True]]),
        duration=np.full((1, 3), nan, dtype=np.float32),
        onset=np.full((1, 3), -1, dtype=np.int8),
        severity=np.full((1, 3), nan, dtype=np.float32),
        lab_value=np.array([[np.inf, 3.0, 4.0]], dtype=np.float32),  # inf/inf: NaN
        lab_width=np.full((1, 3), nan, dtype=np.float32),
        case_ids=["a", "b", "c"],
        diseases=[None] * 3,
        validated=np.zeros(3, dtype=bool),
    )
    index = CaseIndex.from_columns(columns)
    query = CaseRecord(
        patient_id="q", symptoms=(Symptom(name="fever"),), labs=(LabValue(name="crp", value=5.0),)
    )
    with np.errstate(invalid="ignore"):
        assert np.isnan(index.scores(query, {})[0])
    assert [m.case_id for m in index.top_k(query, {}, k=2)] == ["c", "b"]
