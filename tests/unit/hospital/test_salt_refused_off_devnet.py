"""The public devnet national-id salt is refused on a chain that is not a devnet."""

import pytest
from typer.testing import CliRunner

from hospital.cli import hospital_app
from hospital.emr.settings import DEV_SALT, EmrSettings
from node.errors import ConfigError

runner = CliRunner()


def test_default_salt_is_refused_on_a_non_devnet_chain_naming_the_variable():
    with pytest.raises(ConfigError) as err:
        EmrSettings(national_id_salt=DEV_SALT).require_secret_salt(1)
    assert "FEDCHAIN_NATIONAL_ID_SALT" in err.value.message
    assert "FEDCHAIN_NATIONAL_ID_SALT" in str(err.value.fix)


@pytest.mark.parametrize("chain_id", [31337, 1337])
def test_default_salt_is_accepted_on_a_devnet(chain_id):
    settings = EmrSettings(national_id_salt=DEV_SALT)
    assert settings.require_secret_salt(chain_id) is settings


def test_a_configured_salt_is_accepted_on_any_chain():
    settings = EmrSettings(national_id_salt="consortium-secret-7f3a")
    assert settings.require_secret_salt(1) is settings


def _serve_env(tmp_path, monkeypatch, chain_id: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEDCHAIN_NATIONAL_ID_SALT", raising=False)
    monkeypatch.setenv("FEDCHAIN_CHAIN_ID", chain_id)
    monkeypatch.setenv("FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS", '["doctor-token-for-tests"]')
    monkeypatch.setenv("FEDCHAIN_NETWORK_FILE", str(tmp_path / "absent-network.json"))


def test_hospital_serve_refuses_the_default_salt_on_a_non_devnet_chain(tmp_path, monkeypatch):
    _serve_env(tmp_path, monkeypatch, "1")
    res = runner.invoke(hospital_app, ["serve", "--db", f"sqlite:///{tmp_path / 'h.sqlite'}"])
    assert isinstance(res.exception, ConfigError)
    assert "FEDCHAIN_NATIONAL_ID_SALT" in res.exception.message
    assert not (tmp_path / "h.sqlite").exists()  # refused before anything was opened


def test_hospital_serve_gets_past_the_salt_check_on_a_devnet(tmp_path, monkeypatch):
    _serve_env(tmp_path, monkeypatch, "31337")
    res = runner.invoke(hospital_app, ["serve", "--db", f"sqlite:///{tmp_path / 'h.sqlite'}"])
    # the next check (no network file to record alignments on) is what stops it here
    assert isinstance(res.exception, ConfigError)
    assert "network file" in res.exception.message


def test_hospital_import_refuses_the_default_salt_on_a_non_devnet_chain(tmp_path, monkeypatch):
    # the national-id tokens are computed at import: that is where the salt must be secret
    _serve_env(tmp_path, monkeypatch, "1")
    source = tmp_path / "cases.json"
    source.write_text("[]")
    res = runner.invoke(
        hospital_app, ["import", "--db", f"sqlite:///{tmp_path / 'h.sqlite'}", str(source)]
    )
    assert isinstance(res.exception, ConfigError)
    assert "FEDCHAIN_NATIONAL_ID_SALT" in res.exception.message
    assert not (tmp_path / "h.sqlite").exists()
    monkeypatch.setenv("FEDCHAIN_NATIONAL_ID_SALT", "consortium-secret-7f3a-0123456789")
    res = runner.invoke(
        hospital_app, ["import", "--db", f"sqlite:///{tmp_path / 'h.sqlite'}", str(source)]
    )
    assert not isinstance(res.exception, ConfigError), res.output
