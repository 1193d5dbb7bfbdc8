"""`fedchain diagnosis` commands through typer's CliRunner."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from diagnosis.api.settings import DiagnosisSettings
from hospital.service.diagnosis_cli import app
from node.errors import ConfigError


def test_new_token_prints_a_token_the_settings_accept() -> None:
    result = CliRunner().invoke(app, ["new-token"])
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert DiagnosisSettings(doctor_tokens=[token]).doctor_tokens == [token]


def test_serve_refuses_to_start_without_doctor_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS", raising=False)
    result = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert isinstance(result.exception, ConfigError)
    assert "new-token" in (result.exception.fix or "")


def test_serve_refuses_workers_without_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS", '["cli-test-token-0123456789ab"]')
    result = CliRunner().invoke(app, ["serve", "--port", "1", "--workers", "2"])
    assert isinstance(result.exception, ConfigError)
    assert "--database" in (result.exception.fix or "")
