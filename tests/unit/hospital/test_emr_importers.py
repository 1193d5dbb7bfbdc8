import json
from collections import Counter
from pathlib import Path

import pytest

from hospital.emr.importers import Format, ImportFailed, import_file
from hospital.emr.importers.fhir import parse_fhir
from hospital.emr.store import NewCase, open_store

from .helpers_emr import DISEASE_SYMPTOM, FHIR, HEART, SALT


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'emr.sqlite'}")
    yield s
    s.close()


@pytest.mark.parametrize(
    ("centre", "rows"), [("cleveland", 303), ("hungarian", 294), ("switzerland", 123), ("va", 200)]
)
def test_uci_heart_files_import_every_row_with_question_marks_as_missing(store, centre, rows):
    path = HEART / f"processed.{centre}.data"
    report = import_file(store, path)
    assert (report.rows, report.added, report.skipped) == (rows, rows, [])
    cases = list(store.iter_cases())
    lab_columns = (0, 1, 3, 4, 5, 6, 7, 9, 10, 11, 12)  # all but cp, exang (symptoms), num
    question_marks = sum(
        line.split(",")[i] == "?" for line in path.read_text().splitlines() for i in lab_columns
    )
    assert question_marks > 0 or centre == "cleveland"
    # each '?' is one lab left out
    lab_slots = sum(len(c.labs) for c in cases)
    zero_coded = sum(
        1
        for line in path.read_text().splitlines()
        for i in (3, 4)
        if line.split(",")[i] in ("0", "0.0")
    )
    assert lab_slots == rows * 11 - question_marks - zero_coded
    sick = sum(1 for line in path.read_text().splitlines() if int(line.split(",")[-1]) > 0)
    assert Counter(c.diagnosis.disease.icd10 for c in cases)["I25.10"] == sick


def test_disease_symptom_table_merges_hemorrhoid_spellings_and_strips_spaces(store):
    report = import_file(store, DISEASE_SYMPTOM)
    assert report.added == 4920 and report.unknown_terms == {}
    cases = list(store.iter_cases())
    diseases = Counter(c.diagnosis.disease.name for c in cases)
    assert len(diseases) == 41
    assert diseases["Haemorrhoids"] == 120  # 110 + 10 rows under the two spellings
    names = {s.name for c in cases for s in c.symptoms}
    assert len(names) == 131 and all(n == n.strip() and " " not in n for n in names)
    assert "dischromic_patches" in names
    itching = next(s for c in cases for s in c.symptoms if s.name == "itching")
    assert itching.severity == pytest.approx(10 / 7, abs=1e-3)  # weight 1 of 7


def _expected_fhir_counts(path: Path) -> tuple[int, int]:
    bundle = json.loads(path.read_text())
    res = [(e["fullUrl"], e["resource"]) for e in bundle["entry"]]
    conditions = [(u, r) for u, r in res if r["resourceType"] == "Condition"]
    meds = [r for _, r in res if r["resourceType"] == "MedicationRequest"]
    linked = 0
    for url, cond in conditions:
        enc = cond["encounter"]["reference"]
        for m in meds:
            reasons = [x["reference"] for x in m.get("reasonReference", [])]
            if url in reasons or (not reasons and m["encounter"]["reference"] == enc):
                linked += 1
    return len(conditions), linked


@pytest.mark.parametrize("bundle", sorted(FHIR.glob("*.json")), ids=lambda p: p.name[:12])
def test_fhir_bundle_gives_one_case_per_condition_with_linked_medications(store, bundle):
    conditions, linked = _expected_fhir_counts(bundle)
    report = import_file(store, bundle, salt=SALT)
    assert report.added == conditions
    cases = list(store.iter_cases())
    assert sum(len(c.treatments) for c in cases) == linked
    assert all(c.diagnosis.disease.snomed for c in cases)
    assert all(t.rxnorm for c in cases for t in c.treatments)
    assert len(store.national_tokens()) == 1  # the SSN became a token


def test_fhir_bundles_exist_and_some_link_medications():
    bundles = sorted(FHIR.glob("*.json"))
    assert len(bundles) >= 8
    assert sum(_expected_fhir_counts(b)[1] for b in bundles) > 0


def test_reimporting_the_same_file_adds_nothing(store):
    first = import_file(store, HEART / "processed.switzerland.data")
    again = import_file(store, HEART / "processed.switzerland.data")
    assert (first.added, again.added, again.duplicates) == (123, 0, 123)
    assert store.count() == 123


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BAD_FILES = {
    "processed.bad.data": (
        "63,1,1,145,233,1,2,150,0,2.3,3,0,6,0\n67,1,9,160,286,0,2,108,1,1.5,2,3,3,2\n67,1,4,120\n",
        Format.AUTO,
        [(2, "cp"), (3, "row")],
    ),
    "ds.csv": (
        "Disease,Symptom_1,Symptom_2\r\nMalaria, chills, vomiting\r\nDragon pox, itching,\r\n",
        Format.DISEASE_SYMPTOM,
        [(3, "Disease")],
    ),
    "cases.csv": (
        "patient_id,date,disease_icd10,disease_name,symptoms\n"
        "p1,2024-01-02,J00,Common cold,runny_nose|3|gradual|4\n"
        "p2,2024-13-40,J00,Common cold,cough|2|sideways|4\n",
        Format.CSV,
        [(3, "date"), (3, "symptoms.0.onset")],
    ),
    "cases.json": (
        json.dumps(
            [{"patient_id": "p1"}, {"patient_id": "", "labs": [{"name": "wbc", "value": "high"}]}]
        ),
        Format.JSON,
        [(2, "patient_id"), (2, "labs.0.value")],
    ),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_malformed_rows_refuse_the_whole_import_naming_row_and_field(store, tmp_path, name):
    text, fmt, expected = BAD_FILES[name]
    path = _write(tmp_path / name, text)
    with pytest.raises(ImportFailed) as err:
        import_file(store, path, fmt=fmt)
    assert [(e.row, e.field) for e in err.value.report.skipped] == expected
    assert name in str(err.value) and "--skip-invalid" in err.value.fix
    assert store.count() == 0  # nothing half-written


def test_skip_invalid_imports_the_good_rows_and_lists_the_bad(store, tmp_path):
    text, fmt, expected = BAD_FILES["processed.bad.data"]
    report = import_file(store, _write(tmp_path / "processed.bad.data", text), skip_invalid=True)
    assert report.added == 1 and [(e.row, e.field) for e in report.skipped] == expected
    assert store.count() == 1


def test_malformed_fhir_resource_names_the_condition(tmp_path):
    bundle = json.loads(next(iter(sorted(FHIR.glob("*.json")))).read_text())
    cond = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition")
    cond["resource"]["onsetDateTime"] = "yesterday"
    path = _write(tmp_path / "bad.json", json.dumps(bundle))
    with pytest.raises(Exception) as err:
        list(parse_fhir(path, SALT))
    assert "onsetDateTime" in str(err.value)


def test_csv_export_reimports_to_the_same_cases(store, tmp_path):
    from hospital.emr.export import export_store

    import_file(store, HEART / "processed.cleveland.data")
    out = tmp_path / "out.csv"
    assert export_store(store, out, "csv") == 303
    other = open_store(f"sqlite:///{tmp_path / 'other.sqlite'}")
    try:
        assert import_file(other, out).added == 303
        a = [c.model_copy(update={"case_id": None}) for c in store.iter_cases()]
        b = {c.patient_id: c.model_copy(update={"case_id": None}) for c in other.iter_cases()}
        assert all(b[c.patient_id] == c for c in a)
    finally:
        other.close()


def test_national_id_in_json_becomes_a_token_and_is_not_stored(store, tmp_path):
    path = _write(tmp_path / "c.json", json.dumps([{"patient_id": "p1", "national_id": "AB-123"}]))
    import_file(store, path, salt=SALT)
    (token,) = store.national_tokens().values()
    assert len(token) == 64 and "AB" not in token
    assert isinstance(next(store.iter_cases()), object)
    assert NewCase  # imported name used by other tests
