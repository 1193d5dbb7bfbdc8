"""A prepared driver read returns what SQLAlchemy's execute returns, over a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError

from hospital.emr.diagnosis_state import STATE, SqlDiagnosisState
from hospital.emr.driver_sql import DriverQuery
from hospital.emr.store import open_store
from hospital.service.suggestions import SUGGESTIONS


def test_rows_equal_the_engines_with_bound_and_statement_constants(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'emr.sqlite'}")
    try:
        state = SqlDiagnosisState(store.engine)
        for part in ("weights", "model", "overrides", "weights"):
            state.publish(part, part.encode())
        query = (
            select(STATE.c.part, STATE.c.version)
            .where(STATE.c.version >= bindparam("least"))
            .where(STATE.c.part != "model")  # a constant bound by the statement itself
            .order_by(STATE.c.version)
        )
        prepared = DriverQuery(query, store.engine)
        for least in (0, 3, 99):
            with store.engine.connect() as conn:
                expected = [tuple(r) for r in conn.execute(query, {"least": least})]
            assert prepared.rows(least=least) == expected
        assert prepared.rows(least=0) == [("overrides", 3), ("weights", 4)]
        assert state.versions() == {"weights": 4, "model": 2, "overrides": 3}
        empty = DriverQuery(select(SUGGESTIONS.c.case_id), store.engine)
        assert empty.rows() == []
        assert store.engine.pool.checkedout() == 0  # every read gave its connection back
    finally:
        store.close()


def test_a_failing_read_raises_the_error_sqlalchemy_raises(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'emr.sqlite'}")
    try:
        missing = DriverQuery(select(STATE.c.part), store.engine)
        missing.sql = missing.sql.replace("diagnosis_state", "no_such_table")
        with pytest.raises(OperationalError, match="no_such_table"):
            missing.rows()
        assert store.engine.pool.checkedout() == 0
    finally:
        store.close()
