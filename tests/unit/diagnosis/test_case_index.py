"""The columnar case index: top-k and threshold, incremental add, refusals, reconstruction."""

from __future__ import annotations

import pytest

from diagnosis.index import CaseIndex
from diagnosis.similarity import case_similarity
from hospital.datagen.generate import synthetic_cases
from hospital.emr.records import CaseRecord, LabValue, Onset, Symptom
from node.errors import NotFound, ValidationFailed


def make(case_id: str, *names: str) -> CaseRecord:
    return CaseRecord(
        case_id=case_id, patient_id="p", symptoms=tuple(Symptom(name=n) for n in names)
    )


@pytest.fixture()
def index() -> CaseIndex:
    idx = CaseIndex(capacity=2)
    idx.add_many(
        [
            make("a", "fever"),  # 1.0 against {fever, cough}
            make("b", "fever", "rash"),  # 0.5
            make("c", "cough", "rash", "itch"),  # 1/3
            make("d", "rash"),  # 0
            make("e", "fever", "cough"),  # 1.0
        ]
    )
    return idx


QUERY = make("q", "fever", "cough")


def test_top_k_returns_best_first_and_ties_prefer_covering_more_of_the_query(
    index: CaseIndex,
) -> None:
    got = [(m.case_id, round(m.similarity, 4)) for m in index.top_k(QUERY, {}, k=3)]
    assert got == [("e", 1.0), ("a", 1.0), ("b", 0.5)]  # e also has cough; a only fever


def test_ties_of_equal_coverage_keep_library_order() -> None:
    idx = CaseIndex()
    idx.add_many([make("x", "fever", "rash"), make("y", "fever", "itch")])
    assert [m.case_id for m in idx.top_k(make("q", "fever"), {}, k=2)] == ["x", "y"]


def test_threshold_drops_cases_below_it_even_inside_k(index: CaseIndex) -> None:
    assert [m.case_id for m in index.top_k(QUERY, {}, k=5, threshold=0.5)] == ["e", "a", "b"]
    assert [m.case_id for m in index.top_k(QUERY, {}, k=5, threshold=0.51)] == ["e", "a"]
    assert index.top_k(QUERY, {}, k=5, threshold=1.01) == []


def test_threshold_zero_with_k_beyond_the_library_returns_every_case(index: CaseIndex) -> None:
    assert [m.case_id for m in index.top_k(QUERY, {}, k=50)] == ["e", "a", "b", "c", "d"]


def test_excluded_case_never_matches(index: CaseIndex) -> None:
    assert [m.case_id for m in index.top_k(QUERY, {}, k=2, exclude=["e"])] == ["a", "b"]


def test_weights_change_the_ranking(index: CaseIndex) -> None:
    got = index.top_k(QUERY, {"symptom:rash": 0.0}, k=4)
    # rash no longer counts: b climbs to 1.0, c to 1/2, d has no weighted attribute (0)
    assert [(m.case_id, round(m.similarity, 4)) for m in got] == [
        ("e", 1.0),
        ("a", 1.0),
        ("b", 1.0),
        ("c", 0.5),
    ]


def test_incremental_add_grows_capacity_and_vocabulary_and_refreshes_denominators(
    index: CaseIndex,
) -> None:
    before = index.top_k(QUERY, {}, k=10, version=1)
    index.add(
        CaseRecord(
            case_id="f",
            patient_id="p",
            symptoms=(Symptom(name="fever", onset=Onset.SUDDEN), Symptom(name="wheeze")),
            labs=(LabValue(name="crp", value=3, normal_low=0, normal_high=5),),
        )
    )
    after = index.top_k(QUERY, {}, k=10, version=1)  # same weight version: cache must refresh
    assert len(after) == len(before) + 1
    f = next(m for m in after if m.case_id == "f")
    ref = case_similarity(index.features_of(index.row_of("f")), QUERY, {})
    assert f.similarity == pytest.approx(ref.similarity, abs=1e-6)
    assert index.cap >= 6 and "wheeze" in index.symptoms and "crp" in index.labs


def test_duplicate_or_missing_case_id_is_refused_without_half_writing(index: CaseIndex) -> None:
    n = len(index)
    with pytest.raises(ValidationFailed) as err:
        index.add_many([make("new", "fever"), make("a", "fever")])
    assert err.value.field == "case_id"
    with pytest.raises(ValidationFailed):
        index.add(CaseRecord(patient_id="p", symptoms=(Symptom(name="fever"),)))
    assert len(index) == n
    with pytest.raises(NotFound):
        index.row_of("new")


def test_features_round_trip_through_the_columns_score_like_the_record() -> None:
    cases = list(synthetic_cases(60, seed=3))
    idx = CaseIndex()
    idx.add_many(cases)
    query = cases[7]
    for row in (0, 13, 59):
        rebuilt = idx.features_of(row)
        a = case_similarity(cases[row], query, {}).similarity
        b = case_similarity(rebuilt, query, {}).similarity
        assert a == pytest.approx(b, abs=1e-5)


def test_empty_index_has_no_matches() -> None:
    assert CaseIndex().top_k(QUERY, {}, k=3) == []
