import csv
from pathlib import Path

import pytest

from hospital.alignment import (
    AlignmentPurpose,
    cases_to_train_on,
    item_digest,
    pathology_items,
    pathology_signature,
    shared_set_hash,
)
from hospital.emr.records import CaseRecord, Diagnosis, Disease, Symptom
from node.errors import ValidationFailed

REPO = Path(__file__).resolve().parents[4]
# ../shared/data beside the repository; a worktree under /work/wt/<name> finds it one level up
DATA = (
    next(
        p
        for p in (REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data")
        if p.is_dir()
    )
    / "disease_symptom"
)


def case(symptoms, icd10="I20.9", patient="p1"):
    return CaseRecord(
        patient_id=patient,
        symptoms=tuple(Symptom(name=s) for s in symptoms),
        diagnosis=Diagnosis(disease=Disease(icd10=icd10, name="angina")),
    )


def test_signature_ignores_symptom_order_case_repetition_and_spacing():
    a = case(["Chest_Pain", "dyspnoea", "chest_pain"])
    b = case(["dyspnoea ", "chest_pain"], icd10="i20.9", patient="p2")
    assert pathology_signature(a) == pathology_signature(b)
    expected = b'{"icd10":"I20.9","symptoms":["chest_pain","dyspnoea"]}'
    assert pathology_signature(a) == b"fedchain/pathology-signature/v1\x00" + expected


def test_signature_differs_with_disease_or_symptom_set():
    base = pathology_signature(case(["chest_pain"]))
    assert pathology_signature(case(["chest_pain"], icd10="I21.0")) != base
    assert pathology_signature(case(["chest_pain", "fever"])) != base


def test_undiagnosed_case_has_no_signature():
    pending = CaseRecord(patient_id="p", symptoms=(Symptom(name="fever"),))
    with pytest.raises(ValidationFailed) as exc:
        pathology_signature(pending)
    assert exc.value.field == "diagnosis"
    assert pathology_items([pending, case(["fever"])]) == [pathology_signature(case(["fever"]))]


def test_shared_set_hash_is_order_free_salted_and_purpose_separated():
    salt = b"\x07" * 32
    items = [b"a", b"b", b"c"]
    h = shared_set_hash(items, purpose=AlignmentPurpose.PATIENTS, salt=salt)
    assert h == shared_set_hash(items[::-1] + [b"a"], purpose=AlignmentPurpose.PATIENTS, salt=salt)
    assert h != shared_set_hash(items, purpose=AlignmentPurpose.PATIENTS, salt=b"\x08" * 32)
    assert h != shared_set_hash(items, purpose=AlignmentPurpose.PATHOLOGY, salt=salt)
    assert h != shared_set_hash(items[:2], purpose=AlignmentPurpose.PATIENTS, salt=salt)
    assert len(h) == 32 and item_digest(b"a") != item_digest(b"b")


def test_shared_set_hash_refuses_a_short_salt():
    with pytest.raises(ValidationFailed) as exc:
        shared_set_hash([b"a"], purpose=AlignmentPurpose.PATIENTS, salt=b"short")
    assert exc.value.field == "salt"


def test_training_keeps_cases_held_by_enough_other_hospitals():
    common, rare = case(["fever"], icd10="A01"), case(["rash"], icd10="B02")
    pending = CaseRecord(patient_id="p", symptoms=(Symptom(name="fever"),))
    holders = {pathology_signature(common): 2, pathology_signature(rare): 1}
    cases = [common, rare, pending]
    assert cases_to_train_on(cases, holders, min_other_holders=1) == [common, rare]
    assert cases_to_train_on(cases, holders, min_other_holders=2) == [common]
    assert cases_to_train_on(cases, {}, min_other_holders=1) == []


def kaggle_cases():
    """Real symptom sets (Kaggle Disease Symptom Prediction); the file has no ICD-10 codes,
    so each disease gets a stand-in code from its order of appearance."""
    codes: dict[str, str] = {}
    with (DATA / "dataset.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    out = []
    for i, row in enumerate(rows):
        disease = row[0].strip()
        code = codes.setdefault(disease, f"Z{len(codes):02d}")
        out.append(
            CaseRecord(
                patient_id=f"p{i}",
                symptoms=tuple(Symptom(name=s) for s in row[1:] if s.strip()),
                diagnosis=Diagnosis(disease=Disease(icd10=code, name=disease)),
            )
        )
    return out


def test_real_symptom_data_aligns_to_the_plaintext_signature_intersection(run_local, plain):
    cases = kaggle_cases()
    hospitals = {"north": cases[0::3], "south": cases[1::3], "east": cases[2::3][:500]}
    sets = {k: [pathology_signature(c) for c in v] for k, v in hospitals.items()}

    summary, parties, _ = run_local(sets, purpose=AlignmentPurpose.PATHOLOGY, min_other_holders=2)

    expected = plain(sets)
    for name, party in parties.items():
        result = party.result(summary.session_id)
        assert result.holders_by_item() == expected[name]
        chosen = cases_to_train_on(hospitals[name], result.holders_by_item(), min_other_holders=2)
        assert chosen == [c for c in hospitals[name] if expected[name][pathology_signature(c)] == 2]
        assert summary.receipts[name].shared_size == sum(v == 2 for v in expected[name].values())


def test_unique_patient_fraction_counts_a_shared_patient_once_across_hospitals():
    from hospital.alignment.items import unique_patient_ppm

    cases = [case(["cough"], patient=p) for p in ("a", "a", "b", "c", "d")]
    tokens = {"a": b"\x01", "b": b"\x02", "c": b"\x03"}  # d has no national-id token
    holders = {b"\x01": 1, b"\x02": 3, b"\x03": 0}  # a at one other hospital, b at three
    # (1/2 + 1/2 + 1/4 + 1 + 1) / 5 = 0.65
    assert unique_patient_ppm(cases, tokens, holders) == 650_000
    assert unique_patient_ppm(cases[:1], tokens, {}) == 1_000_000  # token not aligned
    assert unique_patient_ppm([], tokens, holders) == 1_000_000
    thirds = [case(["cough"], patient="a")] * 3
    assert unique_patient_ppm(thirds, tokens, {b"\x01": 2}) == 333_333  # floor of 1/3
