"""Diagnosis suggestions kept in the hospital's database: feedback works from any process.

Implements ``diagnosis.ports.SuggestionStore`` on the ``diagnosis_suggestions`` table. A
batch of suggestions is one INSERT in one transaction; a claim is one conditional UPDATE,
so two processes cannot both answer one suggestion. Suggestions without feedback expire
after ``keep`` (30 days by default); the store deletes them at most once an hour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, insert, select, update

from diagnosis.ports import PendingFeedback, already_answered, unknown_suggestion
from diagnosis.schemas import to_json
from hospital.emr.tables import SuggestionRow
from hospital.emr.writer_lock import serialize_writers

SUGGESTIONS: Table = SuggestionRow.__table__  # type: ignore[assignment]
OPEN, CLAIMED, ANSWERED = "open", "claimed", "answered"
DEFAULT_KEEP = dt.timedelta(days=30)  # a suggestion can get feedback for this long
PRUNE_EVERY = dt.timedelta(hours=1)

# Built once: every batch of suggestions runs these, and building a statement (and its cache
# key) cost more than executing it on SQLite (answered_since: 75 µs per call → 25 µs).
_INSERT = insert(SUGGESTIONS)
_ANSWERED_SINCE = (
    select(SUGGESTIONS.c.answered_seq, SUGGESTIONS.c.case_id)
    .where(SUGGESTIONS.c.answered_seq > bindparam("seq"))
    .order_by(SUGGESTIONS.c.answered_seq)
)


class SqlSuggestionStore:
    """Suggestions in the EMR database (SQLite file or PostgreSQL), shared by every process."""

    def __init__(
        self,
        engine: Engine,
        *,
        keep: dt.timedelta = DEFAULT_KEEP,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.engine = engine
        self.keep = keep
        self.clock = clock
        self._pruned_at: dt.datetime | None = None

    def put_many(self, items: Sequence[tuple[str, PendingFeedback]]) -> None:
        """Store a batch of suggestions in one transaction (pruning expired ones hourly)."""
        if not items:
            return
        now = self.clock()
        with self.engine.begin() as conn:
            rows = [
                {
                    "suggestion_id": sid,
                    "created_at": now,
                    "pending": to_json(p).decode(),
                    "state": OPEN,
                }
                for sid, p in items
            ]
            conn.execute(_INSERT, rows)
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                self._prune(conn, now)

    def prune(self) -> int:
        """Delete the suggestions that got no feedback within ``keep``; return how many."""
        with self.engine.begin() as conn:
            return self._prune(conn, self.clock())

    def _prune(self, conn: Connection, now: dt.datetime) -> int:
        # Answered rows stay: their answer numbers tell every process which feedback cases
        # it has indexed, and the next number is one above the largest kept.
        done = conn.execute(
            delete(SUGGESTIONS).where(
                SUGGESTIONS.c.state == OPEN, SUGGESTIONS.c.created_at < now - self.keep
            )
        )
        self._pruned_at = now
        return int(done.rowcount or 0)

    def get(self, suggestion_id: str) -> PendingFeedback:
        """A stored suggestion, or NotFound."""
        with self.engine.connect() as conn:
            text = conn.scalar(
                select(SUGGESTIONS.c.pending).where(SUGGESTIONS.c.suggestion_id == suggestion_id)
            )
        if text is None:
            raise unknown_suggestion(suggestion_id)
        return PendingFeedback.model_validate_json(text)

    def claim(self, suggestion_id: str) -> None:
        """Reserve the suggestion for one feedback; AlreadyExists if it has (or is getting) one."""
        where = SUGGESTIONS.c.suggestion_id == suggestion_id
        with self.engine.begin() as conn:
            done = conn.execute(
                update(SUGGESTIONS).where(where, SUGGESTIONS.c.state == OPEN).values(state=CLAIMED)
            )
            if done.rowcount == 1:
                return
            row = conn.execute(select(SUGGESTIONS.c.state, SUGGESTIONS.c.case_id).where(where))
            found = row.first()
        if found is None:
            raise unknown_suggestion(suggestion_id)
        raise already_answered(suggestion_id, found.case_id)

    def release(self, suggestion_id: str) -> None:
        """Undo a claim whose feedback failed."""
        with self.engine.begin() as conn:
            conn.execute(
                update(SUGGESTIONS)
                .where(SUGGESTIONS.c.suggestion_id == suggestion_id, SUGGESTIONS.c.state == CLAIMED)
                .values(state=OPEN)
            )

    def complete(self, suggestion_id: str, case_id: str) -> None:
        """Record the case the feedback created, under the next answer number."""
        next_seq = select(
            func.coalesce(func.max(SUGGESTIONS.c.answered_seq), 0) + 1
        ).scalar_subquery()
        with self.engine.begin() as conn:
            # numbers are then also committed in order: a process that has seen n never
            # misses an answer numbered below n that commits later
            serialize_writers(conn, "diagnosis_suggestions.answered_seq")
            conn.execute(
                update(SUGGESTIONS)
                .where(SUGGESTIONS.c.suggestion_id == suggestion_id)
                .values(state=ANSWERED, case_id=case_id, answered_seq=next_seq)
            )

    def answered_since(self, seq: int) -> tuple[int, list[str]]:
        """(newest answer number, case ids answered after ``seq``, in answer order)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_ANSWERED_SINCE, {"seq": seq}).all()
        if not rows:
            return seq, []
        return int(rows[-1][0]), [case_id for _, case_id in rows if case_id is not None]
