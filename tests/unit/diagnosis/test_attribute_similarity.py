"""Each attribute similarity function and the missing-value rules of Sim(i, j)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from diagnosis.similarity import (
    Facet,
    SimilarityConfig,
    case_similarity,
    duration_similarity,
    lab_similarity,
    onset_similarity,
    severity_similarity,
)
from hospital.emr.records import CaseRecord, LabValue, Onset, Symptom, normalize_term


def case(*symptoms: Symptom, labs: tuple[LabValue, ...] = ()) -> CaseRecord:
    return CaseRecord(case_id="c", patient_id="p", symptoms=symptoms, labs=labs)


def test_duration_is_relative_difference() -> None:
    assert duration_similarity(2.0, 4.0) == 0.5
    assert duration_similarity(4.0, 2.0) == 0.5
    assert duration_similarity(3.0, 3.0) == 1.0


def test_two_zero_durations_are_identical_and_zero_against_positive_is_zero() -> None:
    assert duration_similarity(0.0, 0.0) == 1.0
    assert duration_similarity(0.0, 5.0) == 0.0


def test_severity_is_ordinal_distance_on_the_ten_point_scale() -> None:
    assert severity_similarity(7, 7) == 1.0
    assert math.isclose(severity_similarity(2, 5), 0.7)
    assert severity_similarity(0, 10) == 0.0


def test_lab_similarity_reads_the_difference_against_the_normal_range() -> None:
    assert lab_similarity(37.0, 37.55, width=1.1) == pytest.approx(0.5)
    assert lab_similarity(36.0, 40.0, width=1.1) == 0.0  # clipped at 0


def test_lab_without_a_range_falls_back_to_relative_difference() -> None:
    assert lab_similarity(5.0, 10.0, width=None) == 0.5
    assert lab_similarity(0.0, 0.0, width=None) == 1.0
    assert lab_similarity(-2.0, 2.0, width=None) == 0.0


def test_case_range_is_preferred_then_the_query_range() -> None:
    lib = case(labs=(LabValue(name="wbc", value=10, normal_low=4, normal_high=12),))
    q_range = case(labs=(LabValue(name="wbc", value=12, normal_low=0, normal_high=100),))
    assert case_similarity(lib, q_range, {}).similarity == pytest.approx(1 - 2 / 8)
    lib_no_range = case(labs=(LabValue(name="wbc", value=10),))
    assert case_similarity(lib_no_range, q_range, {}).similarity == pytest.approx(1 - 2 / 100)


def test_onset_uses_the_configured_matrix_and_unknown_compares_to_nothing() -> None:
    config = SimilarityConfig(onset_matrix={"sudden": {"exertional": 0.6}})
    assert config.onset_similarity(Onset.SUDDEN, Onset.EXERTIONAL) == 0.6
    assert (
        config.onset_similarity(Onset.EXERTIONAL, Onset.SUDDEN) == 0.0
    )  # matrix need not be symmetric
    assert config.onset_similarity(Onset.GRADUAL, Onset.GRADUAL) == 1.0
    assert onset_similarity(Onset.UNKNOWN, Onset.SUDDEN, config.onset_matrix) is None


def test_onset_matrix_refuses_unknown_onsets_and_out_of_range_values() -> None:
    with pytest.raises(ValidationError, match="use one of"):
        SimilarityConfig(onset_matrix={"sudden": {"unknown": 0.5}})
    with pytest.raises(ValidationError, match=r"must be in \[0, 1\]"):
        SimilarityConfig(onset_matrix={"sudden": {"gradual": 2.0}})


def test_symptom_names_match_after_normalisation() -> None:
    assert normalize_term("  Chest - Pain ") == "chest_pain"
    assert normalize_term("dischromic _patches") == "dischromic_patches"
    assert normalize_term("toxic_look_(typhos)") == "toxic_look_typhos"  # as the EMR stores it
    lib = case(Symptom(name="chest_pain"))
    assert case_similarity(lib, case(Symptom(name="Chest Pain")), {}).similarity == 1.0


def test_symptom_missing_in_query_scores_zero_on_all_its_recorded_facets() -> None:
    lib = case(Symptom(name="fever", duration_days=2, onset=Onset.SUDDEN, severity=5))
    b = case_similarity(lib, case(Symptom(name="cough")), {})
    assert b.similarity == 0.0
    assert {c.facet for c in b.contributions} == set(Facet) - {Facet.VALUE}


def test_facet_unknown_in_query_counts_the_configured_unknown_similarity() -> None:
    lib = case(Symptom(name="fever", duration_days=2, onset=Onset.SUDDEN, severity=5))
    q = case(Symptom(name="fever"))  # present, no duration/onset/severity
    for unknown in (0.0, 0.5, 1.0):
        config = SimilarityConfig(unknown_similarity=unknown)
        # presence 1·1 + (0.5 + 0.5 + 0.5)·unknown over 1 + 1.5
        want = (1.0 + 1.5 * unknown) / 2.5
        assert case_similarity(lib, q, {}, config).similarity == pytest.approx(want)


def test_lab_missing_in_query_counts_the_unknown_similarity() -> None:
    lib = case(labs=(LabValue(name="crp", value=50, normal_low=0, normal_high=5),))
    assert case_similarity(lib, case(Symptom(name="x")), {}).similarity == 0.5


def test_query_attributes_absent_from_the_library_case_do_not_count() -> None:
    lib = case(Symptom(name="fever"))
    q = case(Symptom(name="fever"), Symptom(name="cough"), labs=(LabValue(name="crp", value=1),))
    assert case_similarity(lib, q, {}).similarity == 1.0


def test_facets_the_library_case_does_not_record_are_not_attributes() -> None:
    lib = case(Symptom(name="fever"))  # no duration/onset/severity
    q = case(Symptom(name="fever", duration_days=9, onset=Onset.GRADUAL, severity=9))
    b = case_similarity(lib, q, {})
    assert [c.facet for c in b.contributions] == [Facet.PRESENCE]
    assert b.similarity == 1.0


def test_weights_follow_the_patent_formula() -> None:
    lib = case(Symptom(name="fever"), Symptom(name="cough"))
    q = case(Symptom(name="fever"))
    # Σ w·sim / Σ w = (3·1 + 1·0) / (3 + 1)
    assert case_similarity(lib, q, {"symptom:fever": 3.0}).similarity == 0.75
    assert case_similarity(lib, q, {"symptom:fever": 3.0, "symptom:cough": 0.0}).similarity == 1.0


def test_a_case_with_no_attributes_has_similarity_zero() -> None:
    assert case_similarity(case(), case(Symptom(name="fever")), {}).similarity == 0.0
