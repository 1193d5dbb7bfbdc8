"""`fedchain diagnosis serve` as a real process on a loopback port, driven over HTTP with httpx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.services import Service, diagnosis_server

TOKEN = "rest-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FINDINGS = {
    "patient_id": "p-it",
    "symptoms": [
        {"name": "chest pain", "duration_days": 0.1, "onset": "sudden", "severity": 9},
        {"name": "sweating", "onset": "sudden"},
        {"name": "radiating arm pain", "onset": "sudden"},
    ],
    "labs": [{"name": "troponin_i", "value": 2.0, "normal_low": 0, "normal_high": 0.04}],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    log = tmp_path_factory.mktemp("diagnosis") / "serve.log"
    with diagnosis_server(log, tokens=[TOKEN], cases=600) as s:
        yield s
    assert s.process.poll() is not None  # stopped by PID


def test_suggest_then_accept_puts_a_validated_case_into_the_running_library(
    server: Service,
) -> None:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as http:
        s = http.post("/diagnosis", json=FINDINGS).json()
        assert s["diagnoses"][0]["disease"]["icd10"] == "I21.9"
        assert s["library_size"] == 600 and not s["model_used"]
        r = http.post(f"/diagnosis/{s['suggestion_id']}/feedback", json={"decision": "accept"})
        assert r.status_code == 200
        case_id = r.json()["case_id"]
        assert r.json()["case"]["origin"] == "doctor_validated"
        similar = http.get(f"/cases/{case_id}/similar", params={"k": 3}).json()
        assert similar["case_id"] == case_id and len(similar["matches"]) == 3
        assert http.post("/diagnosis", json=FINDINGS).json()["library_size"] == 601


def test_real_server_refuses_missing_token_and_names_bad_fields(server: Service) -> None:
    r = httpx.post(f"{server.url}/diagnosis", json=FINDINGS, timeout=10)
    assert r.status_code == 401
    assert "Authorization: Bearer" in r.json()["detail"]["fix"]
    bad = {**FINDINGS, "symptoms": [{"name": "cough", "duration_days": -1}]}
    r = httpx.post(f"{server.url}/diagnosis", json=bad, headers=AUTH, timeout=10)
    assert r.status_code == 422
    assert r.json()["errors"][0] == {
        "field": "symptoms[0].duration_days",
        "problem": "Input should be greater than or equal to 0",
        "fix": "use a value ≥ 0.0",
    }
    r = httpx.post(
        f"{server.url}/diagnosis",
        content=b"{not json",
        headers={**AUTH, "content-type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["fix"] == "send a valid JSON body"
