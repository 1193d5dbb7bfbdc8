"""A case store remembers the national-id salt its tokens were made under (as a fingerprint)."""

import sqlite3

import pytest
from typer.testing import CliRunner

from hospital.cli import data_app, hospital_app
from hospital.emr.saltmark import DEVNET_FINGERPRINT, salt_fingerprint
from hospital.emr.settings import DEV_SALT
from hospital.emr.store import open_store
from node.errors import ConfigError

runner = CliRunner()
SECRET = "consortium-secret-7f3a-0123456789"


def test_the_fingerprint_names_the_salt_without_holding_it(tmp_path):
    db = tmp_path / "h.sqlite"
    store = open_store(f"sqlite:///{db}", salt=SECRET.encode())
    store.close()

    rows = sqlite3.connect(db).execute("SELECT key, value FROM emr_meta").fetchall()
    assert rows == [("national_id_salt_fingerprint", salt_fingerprint(SECRET.encode()))]
    assert SECRET not in rows[0][1] and SECRET.encode().hex() not in rows[0][1]
    assert salt_fingerprint(SECRET.encode()) != salt_fingerprint(b"another-secret-0123456789")
    assert salt_fingerprint(DEV_SALT.encode()) == DEVNET_FINGERPRINT


def test_a_store_refuses_to_open_under_another_salt_naming_the_variable(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    open_store(url, salt=SECRET.encode()).close()

    with pytest.raises(ConfigError) as err:
        open_store(url, salt=b"another-secret-0123456789")

    assert (
        "FEDCHAIN_NATIONAL_ID_SALT" in err.value.message and "a different salt" in err.value.message
    )
    assert "re-import" in str(err.value.fix)
    reopened = open_store(url, salt=SECRET.encode())  # the right salt still opens it
    assert reopened.salt_fingerprint() == salt_fingerprint(SECRET.encode())
    reopened.close()


def test_a_store_opened_without_a_salt_neither_checks_nor_records_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    store = open_store(url)  # stats, export: no tokens are made
    assert store.salt_fingerprint() is None
    store.close()
    store = open_store(url, salt=SECRET.encode())  # the first salted open records it
    assert store.salt_fingerprint() == salt_fingerprint(SECRET.encode())
    store.close()


def _env(monkeypatch, tmp_path, chain_id: str, salt: str | None) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEDCHAIN_CHAIN_ID", chain_id)
    monkeypatch.setenv("FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS", '["doctor-token-for-tests"]')
    monkeypatch.setenv("FEDCHAIN_NETWORK_FILE", str(tmp_path / "absent-network.json"))
    if salt is None:
        monkeypatch.delenv("FEDCHAIN_NATIONAL_ID_SALT", raising=False)
    else:
        monkeypatch.setenv("FEDCHAIN_NATIONAL_ID_SALT", salt)


def test_a_devnet_salted_store_is_refused_when_served_on_a_real_chain(tmp_path, monkeypatch):
    # made on a devnet with the default salt, as `fedchain demo` does
    _env(monkeypatch, tmp_path, "31337", None)
    made = runner.invoke(
        data_app, ["generate", "--hospitals", "1", "--cases", "30", "--out", str(tmp_path / "emr")]
    )
    assert made.exit_code == 0, made.output
    db = f"sqlite:///{tmp_path / 'emr' / 'hospital-1.sqlite'}"

    # later served on chain 100 with a proper secret: the store's tokens are still devnet's
    _env(monkeypatch, tmp_path, "100", SECRET)
    served = runner.invoke(hospital_app, ["serve", "--db", db])
    imported = runner.invoke(hospital_app, ["import", "--db", db, str(_one_case_file(tmp_path))])

    for res in (served, imported):
        assert isinstance(res.exception, ConfigError), res.output
        assert "the public devnet salt" in res.exception.message
        assert "FEDCHAIN_NATIONAL_ID_SALT" in res.exception.message
    store = open_store(db)
    assert store.count() == 30  # nothing was added under the other salt
    store.close()


def test_the_off_devnet_guard_names_a_devnet_salted_store(tmp_path):
    from hospital.emr.saltmark import require_not_devnet_salted

    store = open_store(f"sqlite:///{tmp_path / 'h.sqlite'}", salt=DEV_SALT.encode())
    try:
        require_not_devnet_salted(store.salt_fingerprint(), 31337, where=store.where)
        with pytest.raises(ConfigError) as err:
            require_not_devnet_salted(store.salt_fingerprint(), 100, where=store.where)
    finally:
        store.close()
    assert "public devnet FEDCHAIN_NATIONAL_ID_SALT" in err.value.message
    assert "chain 100 is not a devnet" in err.value.message
    assert "h.sqlite" in err.value.message


def _one_case_file(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(
        '[{"patient_id": "p-9", "national_id": "123-45", "symptoms": '
        '[{"name": "cough"}], "diagnosis": {"icd10": "J18.9", "name": "pneumonia"}}]'
    )
    return path
