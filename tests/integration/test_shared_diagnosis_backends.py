"""Suggestion answers and published diagnosis state under concurrent writers, on SQLite and
on a real PostgreSQL cluster: every process relies on their numbers to notice changes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from diagnosis.ports import PendingFeedback
from hospital.emr.diagnosis_state import SqlDiagnosisState
from hospital.emr.records import CaseRecord, Origin, Symptom
from hospital.emr.store import NewCase, SqlCaseStore, make_engine, open_store
from hospital.service.suggestions import SqlSuggestionStore

from .pg_cluster import postgres_cluster

WRITERS = 8


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    try:
        with postgres_cluster() as url:
            yield url
    except RuntimeError as exc:  # only when PostgreSQL cannot be installed or started
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture(params=["sqlite", "postgresql"])
def emr(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlCaseStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'emr.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        with engine.begin() as conn:  # a fresh database for every test
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


def all_at_once(work: Callable[[int], None], n: int = WRITERS) -> None:
    """Run work(0) … work(n-1) on n threads released together; re-raise the first error."""
    start, errors = threading.Barrier(n), []

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]


def test_concurrent_answers_get_distinct_consecutive_numbers(emr: SqlCaseStore) -> None:
    validated = [
        CaseRecord(case_id=f"case-{i}", patient_id="p", origin=Origin.DOCTOR_VALIDATED)
        for i in range(WRITERS * 3)
    ]
    emr.add_cases([NewCase(case=c, source="t", ref=str(c.case_id)) for c in validated])
    store = SqlSuggestionStore(emr.engine)
    query = CaseRecord(patient_id="p", symptoms=(Symptom(name="cough"),), origin=Origin.PENDING)
    store.put_many(
        [(f"s{i}", PendingFeedback(query=query, leader=None, plan=())) for i in range(WRITERS * 3)]
    )

    def answer_three(writer: int) -> None:
        for j in range(3):
            sid = f"s{writer * 3 + j}"
            store.claim(sid)
            store.complete(sid, f"case-{writer * 3 + j}")

    all_at_once(answer_three)
    seq, case_ids = store.answered_since(0)
    assert seq == WRITERS * 3
    assert sorted(case_ids) == sorted(f"case-{i}" for i in range(WRITERS * 3))
    with emr.engine.connect() as conn:
        numbers = conn.execute(text("SELECT answered_seq FROM diagnosis_suggestions")).scalars()
        assert sorted(numbers) == list(range(1, WRITERS * 3 + 1))


def test_concurrent_publications_never_share_a_version(emr: SqlCaseStore) -> None:
    state = SqlDiagnosisState(emr.engine)
    published: list[tuple[str, int, bytes]] = []
    lock = threading.Lock()

    def publish_five(writer: int) -> None:
        part = ("weights", "overrides", "model")[writer % 3]
        for j in range(5):
            payload = f"{writer}-{j}".encode()
            version = state.publish(part, payload)
            with lock:
                published.append((part, version, payload))

    all_at_once(publish_five)
    versions = [v for _, v, _ in published]
    assert len(set(versions)) == len(versions) == WRITERS * 5
    # what a reader finds is, for each part, the publication with the highest version
    latest = {}
    for part, version, payload in sorted(published, key=lambda p: p[1]):
        latest[part] = (version, payload)
    assert state.read(["weights", "overrides", "model"]) == latest
    assert state.versions() == {part: v for part, (v, _) in latest.items()}
