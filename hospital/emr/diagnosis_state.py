"""The ``diagnosis_state`` table: parts of diagnosis state published for every process.

A publication replaces one part's payload and gives it the next version of one counter
shared by all parts, in a single statement (so SQLite takes its write lock at once and two
publications never get the same number there; PostgreSQL queues them on an advisory lock,
see ``writer_lock``). Readers first fetch only the versions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Engine, LargeBinary, Table, func, insert, literal, select, update

from hospital.emr.tables import DiagnosisStateRow
from hospital.emr.writer_lock import serialize_writers

STATE: Table = DiagnosisStateRow.__table__  # type: ignore[assignment]
_VERSIONS = select(STATE.c.part, STATE.c.version)  # read before every batch of suggestions


class SqlDiagnosisState:
    """Publish and read the parts of a hospital's shared diagnosis state."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def publish(self, part: str, payload: bytes) -> int:
        """Store ``payload`` as ``part`` under the next version; return that version."""
        now = dt.datetime.now(dt.UTC)
        next_version = select(func.coalesce(func.max(STATE.c.version), 0) + 1).scalar_subquery()
        with self.engine.begin() as conn:
            serialize_writers(conn, "diagnosis_state.version")
            done = conn.execute(
                update(STATE)
                .where(STATE.c.part == part)
                .values(version=next_version, payload=payload, updated_at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(STATE).from_select(
                        ["part", "version", "payload", "updated_at"],
                        select(
                            literal(part),
                            func.coalesce(func.max(STATE.c.version), 0) + 1,
                            literal(payload, LargeBinary),
                            literal(now, STATE.c.updated_at.type),
                        ),
                    )
                )
            version = conn.scalar(select(STATE.c.version).where(STATE.c.part == part))
        assert version is not None
        return int(version)

    def versions(self) -> dict[str, int]:
        """Each part's current version (parts never published are absent)."""
        with self.engine.connect() as conn:
            return {part: int(version) for part, version in conn.execute(_VERSIONS)}

    def read(self, parts: Iterable[str]) -> dict[str, tuple[int, bytes]]:
        """Part → (version, payload) of the named parts that exist."""
        wanted = list(parts)
        if not wanted:
            return {}
        query = select(STATE.c.part, STATE.c.version, STATE.c.payload).where(
            STATE.c.part.in_(wanted)
        )
        with self.engine.connect() as conn:
            return {r.part: (int(r.version), bytes(r.payload)) for r in conn.execute(query)}
