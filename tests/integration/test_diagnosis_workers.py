"""Suggestions live in the hospital's database: feedback after a restart and from any process.

Real `fedchain diagnosis serve` processes (uvicorn workers) over one real SQLite file; every
process is stopped by its PID.
"""

from __future__ import annotations

import itertools
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from tests.integration.services import Service, diagnosis_server

TOKEN = "workers-test-token-0123456789ab"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CASES = 300
_LOGS = itertools.count()
FINDINGS = {
    "patient_id": "p-w",
    "symptoms": [{"name": "chest_pain", "duration_days": 0.1, "onset": "sudden", "severity": 9}],
    "labs": [{"name": "troponin_i", "value": 2.0, "normal_low": 0, "normal_high": 0.04}],
}


def serve(url: str, workers: int = 1) -> AbstractContextManager[Service]:
    log = Path(url.removeprefix("sqlite:///")).with_suffix(f".{next(_LOGS)}.log")
    return diagnosis_server(log, tokens=[TOKEN], cases=CASES, database_url=url, workers=workers)


def suggest(server: Service, patient: str = "p-w") -> dict[str, object]:
    body = {**FINDINGS, "patient_id": patient}
    r = httpx.post(f"{server.url}/diagnosis", json=body, headers=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_suggestion_survives_a_restart_of_the_service(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'emr.sqlite'}"
    with serve(url) as first:
        made = suggest(first)
    assert first.process.poll() is not None  # stopped by PID

    with serve(url) as second:
        r = httpx.post(
            f"{second.url}/diagnosis/{made['suggestion_id']}/feedback",
            json={"decision": "accept"},
            headers=AUTH,
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert r.json()["case"]["origin"] == "doctor_validated"
        assert suggest(second)["library_size"] == CASES + 1


def test_feedback_works_on_a_suggestion_another_process_made(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'emr.sqlite'}"
    with serve(url) as a, serve(url) as b:
        made = suggest(a)
        path = f"/diagnosis/{made['suggestion_id']}/feedback"
        r = httpx.post(b.url + path, json={"decision": "accept"}, headers=AUTH, timeout=30)
        assert r.status_code == 200, r.text
        case_id = r.json()["case_id"]
        again = httpx.post(a.url + path, json={"decision": "accept"}, headers=AUTH, timeout=30)
        assert again.status_code == 409 and case_id in again.json()["message"]
        # process a indexes the case b's feedback added before its next answer
        assert suggest(a)["library_size"] == CASES + 1
        similar = httpx.get(f"{a.url}/cases/{case_id}/similar", headers=AUTH, timeout=30)
        assert similar.status_code == 200 and similar.json()["matches"]


def test_two_uvicorn_workers_share_suggestions_and_new_cases(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'emr.sqlite'}"
    with serve(url, workers=2) as server:
        made = [suggest(server, patient=f"p-{i}") for i in range(12)]
        for s in made:  # a fresh connection each time: the kernel spreads them over workers
            r = httpx.post(
                f"{server.url}/diagnosis/{s['suggestion_id']}/feedback",
                json={"decision": "accept"},
                headers=AUTH,
                timeout=30,
            )
            assert r.status_code == 200, r.text
        sizes = {suggest(server)["library_size"] for _ in range(12)}
        assert sizes == {CASES + 12}


def test_workers_answer_with_the_sealed_model_and_overrides_the_hospital_published(
    tmp_path: Path,
) -> None:
    from types import SimpleNamespace

    from hospital.emr.store import open_store
    from hospital.service.alignment import AlignmentBook
    from hospital.service.diagnosis_app import diagnosis_service
    from hospital.service.rounds import HospitalRounds, RoundSettings, initial_weights

    url = f"sqlite:///{tmp_path / 'emr.sqlite'}"
    with serve(url, workers=2) as server:
        assert not suggest(server)["model_used"]
        store = open_store(url)  # the hospital service applying round 2's sealed model
        try:
            rounds = HospitalRounds(
                book=AlignmentBook(store, tmp_path / "align"),
                service=diagnosis_service(store),
                settings=RoundSettings(hidden=[16]),
                client_factory=lambda train, evaluate: SimpleNamespace(),  # type: ignore[arg-type,return-value]
            )
            rounds.refresh_diagnosis(initial_weights([16], seed=5), round_id=2)
        finally:
            store.close()
        answers = [suggest(server, patient=f"p-{i}") for i in range(12)]  # over both workers
        assert all(a["model_used"] for a in answers)
        assert {(a["weights"]["source"], a["weights"]["round_id"]) for a in answers} == {
            ("model", 2)
        }

        r = httpx.put(
            f"{server.url}/diagnosis/weights/overrides",
            headers=AUTH,
            timeout=30,
            json={"overrides": {"symptom:chest_pain": 4.0}},
        )
        assert r.status_code == 200, r.text
        seen = [
            httpx.get(f"{server.url}/diagnosis/weights", headers=AUTH, timeout=30).json()
            for _ in range(12)
        ]
        assert {s["weights"]["symptom:chest_pain"] for s in seen} == {4.0}
        assert {s["version"] for s in seen} == {r.json()["version"]}
