"""Small reads that run before every batch of suggestions, handed to the DB-API driver as is.

Each diagnosis batch first asks two questions of the database (which shared-state versions
exist, which suggestions were answered since the last look): a few rows of integers and
text. Through ``Connection.execute`` (or ``exec_driver_sql``) SQLAlchemy spent ~55 µs of
the ~75 µs each read cost on SQLite on its execution context, result and row objects and
the transaction bookkeeping; a pooled DB-API connection and cursor cost ~18 µs. Only for
statements whose result columns need no type processing (integers, text), so the driver's
values are what SQLAlchemy would have returned. ``DriverStatement`` (the compiled form and
its parameters in the driver's order) also serves the batch's suggestion insert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class DriverStatement:
    """A statement compiled once for an engine's dialect; its parameters in the driver's form."""

    def __init__(self, statement: ClauseElement, engine: Engine) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=engine.dialect))  # DML or SELECT
        self.engine = engine
        self.sql = str(compiled)
        self.defaults = dict(compiled.params)  # values bound in the statement itself
        # qmark / numeric drivers (sqlite3) take a tuple in order; pyformat ones (psycopg) a dict
        self.order = list(compiled.positiontup or []) if compiled.positional else None

    def args(self, params: Mapping[str, object]) -> Any:  # a tuple or a dict, per driver
        """``params`` (by bind name) over the statement's own values, as the driver takes them."""
        values = {**self.defaults, **params}
        return tuple(values[name] for name in self.order) if self.order is not None else values


class DriverQuery(DriverStatement):
    """A SELECT run on a pooled DB-API cursor."""

    def rows(self, **params: object) -> list[tuple[Any, ...]]:
        """The result rows as the driver returns them (tuples)."""
        args = self.args(params)
        dialect = self.engine.dialect
        conn = self.engine.raw_connection()  # the pool's connection, with its pragmas
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(self.sql, args)
                return [tuple(row) for row in cursor.fetchall()]
            except dialect.loaded_dbapi.Error as error:  # raised as SQLAlchemy would raise it
                raise DBAPIError.instance(
                    self.sql, args, error, dialect.loaded_dbapi.Error, dialect=dialect
                ) from error
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool, which ends the read's transaction
