"""One suite, two suggestion stores: in memory (demo) and the hospital's database (SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from diagnosis.ports import InMemorySuggestionStore, PendingFeedback, SuggestionStore
from hospital.emr.records import CaseRecord, Disease, Origin, Symptom
from hospital.emr.store import NewCase, open_store
from hospital.service.suggestions import SqlSuggestionStore
from node.errors import AlreadyExists, NotFound


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SuggestionStore]:
    if request.param == "memory":
        yield InMemorySuggestionStore()
        return
    cases = open_store(f"sqlite:///{tmp_path / 'emr.sqlite'}")
    # an answer points at the doctor-validated case it created: those cases must exist
    validated = [
        CaseRecord(case_id=f"case-{i}", patient_id="p", origin=Origin.DOCTOR_VALIDATED)
        for i in range(3)
    ]
    cases.add_cases([NewCase(case=c, source="t", ref=str(c.case_id)) for c in validated])
    try:
        yield SqlSuggestionStore(cases.engine)
    finally:
        cases.close()


def pending(name: str) -> PendingFeedback:
    query = CaseRecord(patient_id="p", symptoms=(Symptom(name=name),), origin=Origin.PENDING)
    return PendingFeedback(query=query, leader=Disease(icd10="J11", name="flu"), plan=())


def test_a_stored_suggestion_comes_back_as_it_was_put(store: SuggestionStore) -> None:
    store.put_many([("s1", pending("cough")), ("s2", pending("fever"))])
    assert store.get("s2") == pending("fever")
    with pytest.raises(NotFound, match="POST /diagnosis"):
        store.get("nope")


def test_only_one_feedback_can_claim_a_suggestion(store: SuggestionStore) -> None:
    store.put_many([("s1", pending("cough"))])
    store.claim("s1")
    with pytest.raises(AlreadyExists, match="being saved"):
        store.claim("s1")
    store.complete("s1", "case-1")
    with pytest.raises(AlreadyExists, match="case-1"):
        store.claim("s1")
    with pytest.raises(NotFound):
        store.claim("unknown")


def test_a_released_claim_can_be_made_again(store: SuggestionStore) -> None:
    store.put_many([("s1", pending("cough"))])
    store.claim("s1")
    store.release("s1")
    store.claim("s1")


def test_answers_are_numbered_so_other_processes_can_catch_up(store: SuggestionStore) -> None:
    store.put_many([(f"s{i}", pending("cough")) for i in range(3)])
    assert store.answered_since(0) == (0, [])
    for i in (2, 0):
        store.claim(f"s{i}")
        store.complete(f"s{i}", f"case-{i}")
    assert store.answered_since(0) == (2, ["case-2", "case-0"])
    assert store.answered_since(1) == (2, ["case-0"])
    assert store.answered_since(2) == (2, [])


def test_suggestions_without_feedback_expire_and_answered_ones_keep_their_numbers(
    tmp_path: Path,
) -> None:
    import datetime as dt

    cases = open_store(f"sqlite:///{tmp_path / 'emr.sqlite'}")
    validated = CaseRecord(case_id="case-0", patient_id="p", origin=Origin.DOCTOR_VALIDATED)
    cases.add_cases([NewCase(case=validated, source="t", ref="case-0")])
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    store = SqlSuggestionStore(cases.engine, keep=dt.timedelta(days=30), clock=lambda: now[0])
    try:
        store.put_many([("old-open", pending("cough")), ("old-answered", pending("fever"))])
        store.claim("old-answered")
        store.complete("old-answered", "case-0")
        now[0] += dt.timedelta(days=29)
        store.put_many([("recent", pending("rash"))])  # pruning ran: nothing is 30 days old
        assert store.get("old-open") == pending("cough")

        now[0] += dt.timedelta(days=2)  # the first two are 31 days old, "recent" 2 days
        store.put_many([("new", pending("nausea"))])  # an hour since the last prune: prunes
        with pytest.raises(NotFound, match="expired"):
            store.get("old-open")
        assert store.get("recent") == pending("rash")
        assert store.answered_since(0) == (1, ["case-0"])  # the answer and its number stay
        assert store.prune() == 0
    finally:
        cases.close()
