import json

from typer.testing import CliRunner

from hospital.alignment.cli import app
from hospital.emr.records import CaseRecord, Diagnosis, Disease, Symptom


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_local_run_prints_each_hospitals_shared_count_and_writes_results(tmp_path):
    a = write_lines(tmp_path / "north.txt", ["t1", "t2", "t3", "t4"])
    b = write_lines(tmp_path / "south.txt", ["t3", "t4", "t5"])
    c = write_lines(tmp_path / "east.txt", ["t4", "t9"])

    result = CliRunner().invoke(
        app, ["local", str(a), str(b), str(c), "--out", str(tmp_path / "out")]
    )

    assert result.exit_code == 0, result.output
    assert "bytes per item" in result.output and "sharedSetHash" in result.output
    north = json.loads((tmp_path / "out" / "north.json").read_text())
    holders = dict(
        zip((bytes.fromhex(i) for i in north["items"]), north["other_holders"], strict=True)
    )
    assert holders == {b"t1": 0, b"t2": 0, b"t3": 1, b"t4": 2}
    assert north["shared_size"] == 2


def test_local_run_over_case_files_aligns_pathology_signatures(tmp_path):
    def case(symptoms, code):
        return CaseRecord(
            patient_id="p",
            symptoms=tuple(Symptom(name=s) for s in symptoms),
            diagnosis=Diagnosis(disease=Disease(icd10=code, name="d")),
        )

    a = write_lines(
        tmp_path / "a.jsonl",
        [
            case(["fever", "cough"], "J10").model_dump_json(),
            case(["rash"], "L20").model_dump_json(),
        ],
    )
    b = write_lines(tmp_path / "b.jsonl", [case(["Cough", "fever"], "j10").model_dump_json()])

    result = CliRunner().invoke(
        app,
        [
            "local",
            str(a),
            str(b),
            "--format",
            "cases",
            "--min-other-holders",
            "1",
            "--out",
            str(tmp_path / "o"),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "pathology" in result.output
    assert json.loads((tmp_path / "o" / "a.json").read_text())["shared_size"] == 1


def test_local_run_needs_two_hospitals_and_readable_items(tmp_path):
    a = write_lines(tmp_path / "a.txt", ["ab"])
    result = CliRunner().invoke(app, ["local", str(a)])
    assert result.exit_code != 0 and "at least two hospitals" in str(result.exception)

    bad = write_lines(tmp_path / "b.txt", ["not-hex"])
    result = CliRunner().invoke(app, ["local", str(a), str(bad), "--format", "hex"])
    assert "b.txt:1 is not a valid hex item" in str(result.exception)


def test_audit_command_lists_a_checked_trail_and_refuses_an_altered_one(tmp_path):
    from eth_account import Account

    from hospital.alignment import AlignmentParty, AlignmentPurpose, LocalLink, Relay
    from hospital.alignment.audit import AuditTrail

    relay = Account.create()
    trail = AuditTrail(tmp_path / "audit.jsonl", relay)
    sets = {"north": [b"a", b"b"], "south": [b"b", b"c"]}
    parties = [AlignmentParty(k, lambda _p, v=v: v, secret=b"s") for k, v in sets.items()]
    Relay(relay, trail=trail).run(
        [LocalLink(p) for p in parties], run="9", purpose=AlignmentPurpose.PATIENTS
    )

    listed = CliRunner().invoke(app, ["audit", str(trail.path)], env={"COLUMNS": "250"})
    trail.path.write_text(trail.path.read_text().replace('"run":"9"', '"run":"8"'))
    altered = CliRunner().invoke(app, ["audit", str(trail.path)])

    assert listed.exit_code == 0, listed.output
    assert "1 alignment runs" in listed.output and "north: 2/1, south: 2/1" in listed.output
    assert relay.address in listed.output and "completed" in listed.output
    assert altered.exit_code != 0
    assert "is not signed by the relay it names" in str(altered.exception)
