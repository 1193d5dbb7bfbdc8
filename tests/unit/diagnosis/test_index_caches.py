"""The index's caches (weights per version, columns and onset terms) never serve stale numbers."""

from __future__ import annotations

import numpy as np
import pytest

from diagnosis.columns import CaseColumns, SymptomColumn
from diagnosis.index import CaseIndex, MatchQuery
from hospital.datagen.generate import synthetic_cases
from hospital.emr.records import CaseRecord, LabValue, Onset, Symptom


def _odd_cases() -> list[CaseRecord]:
    """Cases missing facets, with zero durations, a lab without range and a new symptom."""
    return [
        CaseRecord(case_id="odd-1", patient_id="p", symptoms=(Symptom(name="cough"),)),
        CaseRecord(
            case_id="odd-2",
            patient_id="p",
            symptoms=(
                Symptom(name="fever", duration_days=0, severity=10),
                Symptom(name="rash", duration_days=4, onset=Onset.SUDDEN),
            ),
            labs=(LabValue(name="crp", value=0.0),),
        ),
        CaseRecord(
            case_id="odd-3",
            patient_id="p",
            symptoms=(Symptom(name="chest_pain", onset=Onset.AT_REST, severity=0),),
            labs=(LabValue(name="potassium", value=4.1, normal_low=3.5, normal_high=5.0),),
        ),
    ]


def _queries(cases: list[CaseRecord]) -> list[CaseRecord]:
    probes = [
        CaseRecord(
            patient_id="q",
            symptoms=(
                Symptom(name="fever", duration_days=2, onset=Onset.SUDDEN, severity=7),
                Symptom(name="rash", duration_days=0),
                Symptom(name="cough", onset=Onset.GRADUAL),
            ),
            labs=(LabValue(name="crp", value=40, normal_low=0, normal_high=5),),
        ),
        CaseRecord(patient_id="q", labs=(LabValue(name="potassium", value=6.0),)),
    ]
    return probes + cases[:: max(1, len(cases) // 8)]


def _same_answers(a: CaseIndex, b: CaseIndex, queries: list[CaseRecord], weights, version):
    for q in queries:
        assert np.array_equal(a.scores(q, weights, version=version), b.scores(q, weights))
        assert a.top_k(q, weights, k=7, threshold=0.2, version=version) == b.top_k(
            q, weights, k=7, threshold=0.2
        )


def test_answers_after_add_and_add_many_equal_a_fresh_index_under_the_same_version() -> None:
    cases = list(synthetic_cases(300, seed=11))
    more = _odd_cases()
    index = CaseIndex()
    index.add_many(cases[:200])
    queries = _queries(cases + more)
    for q in queries:  # fill the caches under version 1
        index.top_k(q, {}, version=1)

    index.add(more[0])
    index.add_many(cases[200:] + more[1:])

    fresh = CaseIndex()
    fresh.add_many(cases[:200] + [more[0]] + cases[200:] + more[1:])
    _same_answers(index, fresh, queries, {}, version=1)


def test_a_new_weight_version_replaces_the_cached_weights() -> None:
    cases = list(synthetic_cases(200, seed=5)) + _odd_cases()
    index = CaseIndex()
    index.add_many(cases)
    queries = _queries(cases)
    for q in queries:
        index.top_k(q, {}, version=1)
    override = {"symptom:fever": 0.0, "symptom:cough": 3.0, "lab:crp": 0.25}

    fresh = CaseIndex()
    fresh.add_many(cases)
    _same_answers(index, fresh, queries, override, version=2)
    batch = index.top_k_many([MatchQuery(q, 7, 0.2) for q in queries], override, version=2)
    assert batch == [fresh.top_k(q, override, k=7, threshold=0.2) for q in queries]


def test_column_clamp_flags_follow_out_of_range_and_missing_values() -> None:
    def column(duration: list[float], severity: list[float]) -> SymptomColumn:
        size = len(duration)
        return SymptomColumn.packed(
            np.arange(size),
            np.array(duration, dtype=np.float32),
            np.full(size, -1, dtype=np.int8),
            np.array(severity, dtype=np.float32),
        )

    clean = column([np.nan, 0.0, 3.0], [np.nan, 0.0, 10.0])
    assert not clean.clamp_duration and clean.clamp_severity  # a missing severity needs fmax
    odd = column([-1.0, 2.0], [4.0, 11.0])
    assert odd.clamp_duration and odd.clamp_severity
    assert not column([1.0], [4.0]).clamp_severity
    assert column([np.inf], [4.0]).clamp_duration


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf/inf: NaN, then clamped
def test_bulk_columns_out_of_the_record_ranges_still_score_within_zero_and_one() -> None:
    # from_columns adopts arrays unchecked: a negative or infinite duration and a severity
    # above the scale must still be clamped like a record's facets
    nan = np.nan
    columns = CaseColumns(
        symptoms=["fever"],
        labs=[],
        present=np.array([[True, True, True, True]]),
        duration=np.array([[-3.0, np.inf, nan, 2.0]], dtype=np.float32),
        onset=np.array([[-1, -1, -1, -1]], dtype=np.int8),
        severity=np.array([[12.0, nan, 5.0, -4.0]], dtype=np.float32),
        lab_value=np.zeros((0, 4), dtype=np.float32),
        lab_width=np.zeros((0, 4), dtype=np.float32),
        case_ids=["a", "b", "c", "d"],
        diseases=[None] * 4,
        validated=np.zeros(4, dtype=bool),
    )
    index = CaseIndex.from_columns(columns)
    query = CaseRecord(
        patient_id="q", symptoms=(Symptom(name="fever", duration_days=2, severity=0),)
    )
    sims = index.scores(query, {})
    assert np.isfinite(sims).all() and (sims >= 0).all() and (sims <= 1).all()
    assert sims[0] == 0.5  # a: both out-of-range facets clamp to 0, presence alone: 1 / 2
    # c: presence 1 + severity 0.5·(1 − 5/10) over 1 + 0.5 (its duration is not recorded)
    assert sims[2] == pytest.approx(1.25 / 1.5)
