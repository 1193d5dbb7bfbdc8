"""Small reads that run before every batch of suggestions, handed to the DB-API driver as is.

Each diagnosis batch first asks two questions of the database (which shared-state versions
exist, which suggestions were answered since the last look): a few rows of integers and
text. Through ``Connection.execute`` (or ``exec_driver_sql``) SQLAlchemy spent ~55 µs of
the ~75 µs each read cost on SQLite on its execution context, result and row objects and
the transaction bookkeeping; a pooled DB-API connection and cursor cost ~18 µs. Only for
statements whose result columns need no type processing (integers, text), so the driver's
values are what SQLAlchemy would have returned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select


class DriverQuery:
    """A SELECT compiled once for an engine's dialect, run on a pooled DB-API cursor."""

    def __init__(self, statement: Select[Any], engine: Engine) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self.engine = engine
        self.sql = str(compiled)
        self.defaults = dict(compiled.params)  # values bound in the statement itself
        # qmark / numeric drivers (sqlite3) take a tuple in order; pyformat ones (psycopg) a dict
        self.order = list(compiled.positiontup or []) if compiled.positional else None

    def rows(self, **params: object) -> list[tuple[Any, ...]]:
        """The result rows as the driver returns them (tuples)."""
        values = {**self.defaults, **params}
        args: tuple[object, ...] | dict[str, object] = (
            tuple(values[name] for name in self.order) if self.order is not None else values
        )
        dialect = self.engine.dialect
        conn = self.engine.raw_connection()  # the pool's connection, with its pragmas
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(self.sql, args)
                return [tuple(row) for row in cursor.fetchall()]
            except dialect.loaded_dbapi.Error as error:  # raised as SQLAlchemy would raise it
                raise DBAPIError.instance(self.sql, args, error, dialect.loaded_dbapi.Error,
                                          dialect=dialect) from error  # fmt: skip
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool, which ends the read's transaction
