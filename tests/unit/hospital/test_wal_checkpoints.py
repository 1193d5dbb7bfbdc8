"""WAL checkpoints on a thread: a serving store's commits never checkpoint, the thread does."""

from __future__ import annotations

import time
from pathlib import Path

from hospital.emr.records import CaseRecord, Symptom
from hospital.emr.store import NewCase, open_store


def _cases(n: int, tag: str) -> list[NewCase]:
    return [
        NewCase(
            case=CaseRecord(patient_id=f"{tag}-{i}", symptoms=(Symptom(name="cough"),)),
            source="test",
            ref=f"{tag}-{i}",
        )
        for i in range(n)
    ]


def test_a_serving_store_leaves_checkpoints_to_its_thread_and_stops_it_on_close(
    tmp_path: Path,
) -> None:
    db = tmp_path / "emr.sqlite"
    store = open_store(f"sqlite:///{db}", background_checkpoints=True)
    assert store.checkpointer is not None
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    before = db.stat().st_size
    for k in range(30):
        store.add_cases(_cases(20, f"b{k}"))
    seen = store.checkpointer.checkpoints
    deadline = time.monotonic() + 10
    while store.checkpointer.checkpoints < seen + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.checkpointer.checkpoints >= seen + 2
    assert db.stat().st_size > before  # the pages went from the log into the database file
    store.close()
    assert store.checkpointer is None
    assert open_store(f"sqlite:///{db}").count() == 600  # nothing lost


def test_other_stores_keep_sqlites_own_checkpoints(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'emr.sqlite'}")
    try:
        assert store.checkpointer is None
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    finally:
        store.close()
    memory = open_store("sqlite://", background_checkpoints=True)  # nothing to checkpoint
    assert memory.checkpointer is None
    memory.close()
