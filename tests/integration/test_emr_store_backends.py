"""The same case-store suite on a SQLite file and on a real PostgreSQL cluster."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from hospital.emr.importers import import_file
from hospital.emr.records import Origin
from hospital.emr.store import NewCase, SqlCaseStore, make_engine, migrate, open_store
from hospital.emr.tables import Base
from node.errors import NotFound

from ..unit.hospital.helpers_emr import HEART, sample_case
from .pg_cluster import postgres_cluster


@pytest.fixture(scope="module")
def pg_url():
    try:
        with postgres_cluster() as url:
            yield url
    except RuntimeError as exc:  # only when PostgreSQL cannot be installed or started
        print(f"PostgreSQL unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'emr.sqlite'}"
        return
    url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    with engine.begin() as conn:  # a fresh database for every test
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    yield url


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def _batch(n, source="t"):
    return [
        NewCase(
            case=sample_case(f"p-{i}"),
            source=source,
            ref=f"row {i}",
            national_token=f"{i:064x}" if i % 2 else None,
        )
        for i in range(n)
    ]


def test_migrations_create_exactly_the_model_tables(store_url):
    engine = make_engine(store_url)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    # only the migration bookkeeping table is outside the models
    assert [
        d for d in diff if not (d[0] == "remove_table" and d[1].name == "emr_alembic_version")
    ] == []


def test_cases_round_trip_through_the_store(store):
    result = store.add_cases(_batch(5))
    assert (result.added, result.duplicates) == (5, 0)
    cases = list(store.iter_cases())
    assert len(cases) == 5
    for case in cases:
        assert case.model_copy(update={"case_id": None}) == sample_case(case.patient_id)
    assert store.get_case(cases[0].case_id) == cases[0]


def test_the_same_batch_twice_adds_nothing(store):
    store.add_cases(_batch(4))
    again = store.add_cases(_batch(4))
    assert (again.added, again.duplicates) == (0, 4)
    assert store.count() == 4


def test_a_batch_failing_midway_writes_nothing(store):
    calls = []

    def boom(n):
        calls.append(n)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.add_cases(_batch(2500), progress=boom)
    assert calls and store.count() == 0 and store.stats().patients == 0


def test_origin_tokens_and_stats(store):
    store.add_cases(_batch(6))
    last = list(store.iter_cases())[-1]  # the merge must skip the other cases' rows
    store.set_origin(last.case_id, Origin.DOCTOR_VALIDATED)
    assert store.count(origin=Origin.DOCTOR_VALIDATED) == 1
    (validated,) = store.iter_cases(origin=Origin.DOCTOR_VALIDATED)
    assert validated == last.model_copy(update={"origin": Origin.DOCTOR_VALIDATED})
    assert len(store.national_tokens()) == 3
    stats = store.stats()
    assert stats.cases == 6 and stats.patients == 6 and stats.patients_with_token == 3
    assert stats.top_diseases == [("J18.9", "Pneumonia", 6)]
    with pytest.raises(NotFound):
        store.set_origin("nope", Origin.PENDING)
    with pytest.raises(NotFound):
        store.get_case("nope")


def test_heart_import_is_identical_on_both_backends(store):
    report = import_file(store, HEART / "processed.hungarian.data")
    assert report.added == 294
    assert import_file(store, HEART / "processed.hungarian.data").added == 0
    assert isinstance(store, SqlCaseStore)
    assert sum(1 for _ in store.iter_cases()) == 294


def test_a_doctor_validated_case_is_added_once(store):
    case = sample_case("p-doc").model_copy(update={"origin": Origin.DOCTOR_VALIDATED})
    first = store.add_case(case)
    assert store.add_case(case) == first
    assert store.count(origin=Origin.DOCTOR_VALIDATED) == 1


def test_long_free_text_is_stored_alike_on_both_backends(store):
    long_name = "x" * 600
    case = sample_case("p-" + "y" * 300).model_copy(
        update={
            "labs": (
                sample_case().labs[0].model_copy(update={"name": long_name, "unit": "u" * 80}),
            )
        }
    )
    store.add_cases([NewCase(case=case, source="s" * 400, ref="r" * 400)])
    assert next(store.iter_cases()).labs[0].name == long_name
