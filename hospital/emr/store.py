"""The case store: a small interface and its SQLAlchemy implementation (SQLite file or PostgreSQL).

Writes are batches in one transaction (all-or-nothing); cases are keyed by a natural key, so
adding the same batch twice adds nothing. The schema is created by the shipped alembic
migrations (`migrate`), never by ``create_all``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url

from hospital.emr import rows
from hospital.emr.checkpoints import WalCheckpointer
from hospital.emr.identity import case_key
from hospital.emr.records import CaseRecord, Origin
from hospital.emr.saltmark import META_KEY, check_salt, salt_fingerprint
from hospital.emr.tables import CaseRow, MetaRow, PatientRow
from node.errors import ConfigError, NotFound

_CHUNK = 500  # keys per IN (...) lookup; far below SQLite's bound-parameter limit


class NewCase(BaseModel):
    """A case to add, with where it came from and (optionally) its patient's national token."""

    model_config = ConfigDict(frozen=True)

    case: CaseRecord
    source: str
    ref: str
    national_token: str | None = None

    @property
    def key(self) -> str:
        """The natural key this case is stored under."""
        return self.case.case_id or case_key(self.source, self.ref, self.case)


class AddResult(BaseModel):
    """What a batch did: cases added and cases already present (skipped)."""

    added: int
    duplicates: int


class StoreStats(BaseModel):
    """Counts for `fedchain hospital stats`."""

    cases: int
    patients: int
    patients_with_token: int
    by_origin: dict[str, int]
    by_source: dict[str, int]
    top_diseases: list[tuple[str, str, int]]


class CaseStore(abc.ABC):
    """What the rest of fedchain may do with a hospital's EMR library."""

    @abc.abstractmethod
    def add_cases(
        self, batch: Sequence[NewCase], *, progress: Callable[[int], None] | None = None
    ) -> AddResult:
        """Add a batch in one transaction; cases whose key is already stored are skipped."""

    @abc.abstractmethod
    def get_case(self, case_id: str) -> CaseRecord:
        """The case with this id (raises NotFound)."""

    def get_cases(self, case_ids: Sequence[str]) -> list[CaseRecord]:
        """The cases with these ids, in the order given; unknown ids are left out."""
        found = []
        for case_id in case_ids:
            try:
                found.append(self.get_case(case_id))
            except NotFound:
                continue
        return found

    @abc.abstractmethod
    def iter_cases(self, *, origin: Origin | None = None) -> Iterator[CaseRecord]:
        """Every case (or those of one origin), in a stable order (case id), streamed."""

    @abc.abstractmethod
    def count(self, *, origin: Origin | None = None) -> int:
        """Number of cases (of one origin)."""

    @abc.abstractmethod
    def set_origin(self, case_id: str, origin: Origin) -> None:
        """Mark a case, e.g. doctor-validated (raises NotFound)."""

    @abc.abstractmethod
    def national_tokens(self) -> dict[str, str]:
        """Pseudonym → national-id token of every patient that has one (the PSI input)."""

    @abc.abstractmethod
    def stats(self) -> StoreStats:
        """Summary counts."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""

    def add_case(self, case: CaseRecord, *, source: str = "doctor", ref: str = "") -> str:
        """Add one case (e.g. a doctor's validated case); returns its id."""
        item = NewCase(case=case, source=source, ref=ref or case_key(source, "", case))
        self.add_cases([item])
        return item.key


def migrate(engine: Engine) -> None:
    """Bring the database to the newest EMR schema with the shipped alembic migrations."""
    script_dir = Path(str(files("hospital.emr").joinpath("migrations")))
    cfg = Config()
    cfg.set_main_option("script_location", str(script_dir))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _no_autocheckpoint(dbapi_conn: object, _record: object) -> None:
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")  # type: ignore[attr-defined]


def make_engine(url: str, *, autocheckpoint: bool = True) -> Engine:
    """An engine for a SQLite file or PostgreSQL URL (SQLite parent folders are created).

    ``autocheckpoint=False``: this engine's SQLite connections never checkpoint the WAL in
    a commit (a ``checkpoints.WalCheckpointer`` must do it).
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(
            f"not a database URL: {url!r}",
            fix="use sqlite:///path/to/emr.sqlite or postgresql+psycopg://user@host:port/db",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        if not autocheckpoint:
            event.listen(engine, "connect", _no_autocheckpoint)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(
        f"unsupported database backend {parsed.get_backend_name()!r}",
        fix="use a sqlite:/// or postgresql+psycopg:// URL",
    )


def _sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL; None for another backend, memory or a bad URL."""
    try:
        parsed = make_url(url)
    except Exception:  # make_engine explains a bad URL
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def open_store(
    url: str, *, salt: bytes | None = None, background_checkpoints: bool = False
) -> SqlCaseStore:
    """Open (and migrate) the case store at ``url``.

    With ``salt`` (the national-id salt its tokens are, or will be, made under) the store's
    recorded salt fingerprint is checked (ConfigError if it names another salt) or, on a
    store that has none yet, recorded.

    ``background_checkpoints`` (a serving process over a SQLite file): the store's commits
    never checkpoint the WAL; a thread of the store does it until ``close``.
    """
    database = _sqlite_file(url) if background_checkpoints else None
    engine = make_engine(url, autocheckpoint=database is None)
    migrate(engine)
    store = SqlCaseStore(engine)
    if database is not None:
        store.checkpointer = WalCheckpointer(database).start()
    if salt is not None:
        try:
            store.bind_salt(salt)
        except BaseException:
            store.close()
            raise
    return store


class SqlCaseStore(CaseStore):
    """The case store on SQLAlchemy Core; the same code serves SQLite and PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.checkpointer: WalCheckpointer | None = None

    @property
    def where(self) -> str:
        """The store's URL without its password (for messages)."""
        return self.engine.url.render_as_string(hide_password=True)

    def salt_fingerprint(self) -> str | None:
        """The fingerprint of the national-id salt this store's tokens are under, if recorded."""
        with self.engine.connect() as conn:
            value = conn.scalar(select(MetaRow.value).where(MetaRow.key == META_KEY))
        return None if value is None else str(value)

    def bind_salt(self, salt: bytes) -> None:
        """Check ``salt`` against the recorded fingerprint, or record it (first salted open)."""
        with self.engine.begin() as conn:
            recorded = conn.scalar(select(MetaRow.value).where(MetaRow.key == META_KEY))
            check_salt(recorded, salt, where=self.where)
            if recorded is None:
                conn.execute(insert(MetaRow), [{"key": META_KEY, "value": salt_fingerprint(salt)}])

    def _insert_patients(self, conn: Connection, patients: dict[str, str | None]) -> None:
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        values = [{"pseudonym": p, "national_token": t} for p, t in patients.items()]
        for i in range(0, len(values), _CHUNK):
            stmt = dialect.insert(PatientRow).on_conflict_do_nothing(index_elements=["pseudonym"])
            conn.execute(stmt, values[i : i + _CHUNK])
        # a token learnt later fills a patient stored without one (rare: look them up first)
        with_token = [p for p, t in patients.items() if t]
        for i in range(0, len(with_token), _CHUNK):
            chunk = with_token[i : i + _CHUNK]
            missing = conn.scalars(
                select(PatientRow.pseudonym).where(
                    PatientRow.pseudonym.in_(chunk), PatientRow.national_token.is_(None)
                )
            ).all()
            for pseudonym in missing:
                conn.execute(
                    update(PatientRow)
                    .where(PatientRow.pseudonym == pseudonym)
                    .values(national_token=patients[pseudonym])
                )

    def _existing(self, conn: Connection, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            found.update(conn.scalars(select(CaseRow.case_id).where(CaseRow.case_id.in_(chunk))))
        return found

    def add_cases(
        self, batch: Sequence[NewCase], *, progress: Callable[[int], None] | None = None
    ) -> AddResult:
        """Add a batch in one transaction; cases whose key is already stored are skipped."""
        unique: dict[str, NewCase] = {}
        for item in batch:
            unique.setdefault(item.key, item)
        with self.engine.begin() as conn:
            existing = self._existing(conn, list(unique))
            fresh = [(k, item) for k, item in unique.items() if k not in existing]
            patients: dict[str, str | None] = {}
            for _, item in fresh:
                if patients.get(item.case.patient_id) is None:
                    patients[item.case.patient_id] = item.national_token
            self._insert_patients(conn, patients)
            step = 2000
            for i in range(0, len(fresh), step):
                part = fresh[i : i + step]
                for table, values in rows.case_rows(part).items():
                    if values:
                        conn.execute(table.insert(), values)
                if progress is not None:
                    progress(len(part))
        return AddResult(added=len(fresh), duplicates=len(batch) - len(fresh))

    def get_case(self, case_id: str) -> CaseRecord:
        """The case with this id (raises NotFound)."""
        with self.engine.connect() as conn:
            found = rows.load_cases(conn, [case_id])
        if not found:
            raise NotFound(f"no case {case_id!r} in this store", fix="list cases with export")
        return found[0]

    def get_cases(self, case_ids: Sequence[str]) -> list[CaseRecord]:
        """The cases with these ids in one read (five queries), in the order given."""
        ids = list(dict.fromkeys(case_ids))
        with self.engine.connect() as conn:
            return [
                c
                for i in range(0, len(ids), _CHUNK)
                for c in rows.load_cases(conn, ids[i : i + _CHUNK])
            ]

    def iter_cases(self, *, origin: Origin | None = None) -> Iterator[CaseRecord]:
        """Every case (or those of one origin), in case-id order, streamed."""
        with self.engine.connect() as conn:
            yield from rows.stream_cases(conn, origin.value if origin is not None else None)

    def count(self, *, origin: Origin | None = None) -> int:
        """Number of cases (of one origin)."""
        query = select(func.count()).select_from(CaseRow)
        if origin is not None:
            query = query.where(CaseRow.origin == origin.value)
        with self.engine.connect() as conn:
            return int(conn.scalar(query) or 0)

    def set_origin(self, case_id: str, origin: Origin) -> None:
        """Mark a case, e.g. doctor-validated (raises NotFound)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(CaseRow).where(CaseRow.case_id == case_id).values(origin=origin.value)
            )
        if done.rowcount == 0:
            raise NotFound(f"no case {case_id!r} in this store")

    def national_tokens(self) -> dict[str, str]:
        """Pseudonym → national-id token of every patient that has one (the PSI input)."""
        query = select(PatientRow.pseudonym, PatientRow.national_token).where(
            PatientRow.national_token.is_not(None)
        )
        with self.engine.connect() as conn:
            return {p: t for p, t in conn.execute(query) if t is not None}

    def stats(self) -> StoreStats:
        """Summary counts."""
        with self.engine.connect() as conn:
            by_origin = dict(
                conn.execute(select(CaseRow.origin, func.count()).group_by(CaseRow.origin)).all()
            )
            by_source = dict(
                conn.execute(select(CaseRow.source, func.count()).group_by(CaseRow.source)).all()
            )
            top = conn.execute(
                select(CaseRow.disease_icd10, func.min(CaseRow.disease_name), func.count())
                .where(CaseRow.disease_icd10.is_not(None))
                .group_by(CaseRow.disease_icd10)
                .order_by(func.count().desc(), CaseRow.disease_icd10)
                .limit(10)
            ).all()
            patients = conn.scalar(select(func.count()).select_from(PatientRow)) or 0
            tokens = (
                conn.scalar(
                    select(func.count())
                    .select_from(PatientRow)
                    .where(PatientRow.national_token.is_not(None))
                )
                or 0
            )
        return StoreStats(
            cases=sum(by_origin.values()),
            patients=patients,
            patients_with_token=tokens,
            by_origin=by_origin,
            by_source=by_source,
            top_diseases=[(str(c), str(n), int(k)) for c, n, k in top],
        )

    def close(self) -> None:
        """Release connections (and stop the background checkpoints, after a last one)."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
            self.checkpointer = None
        self.engine.dispose()
