"""One writer at a time for the read-then-write counters of the shared diagnosis tables.

Answer numbers and state versions are "largest so far + 1". SQLite runs one write
transaction at a time, so two writers cannot read the same largest number. PostgreSQL's
READ COMMITTED does not serialize them: two first publications of a part both found no row
and both inserted (a unique-key error), and two answers could pick the same number. There a
transaction-scoped advisory lock, taken before the read, makes the writers of one counter
queue; it is released at commit or rollback.
"""

from __future__ import annotations

import zlib

from sqlalchemy import Connection, text


def serialize_writers(conn: Connection, counter: str) -> None:
    """Inside a write transaction: wait until no other writer of ``counter`` is active."""
    if conn.dialect.name == "postgresql":
        # a stable 32-bit key per counter name (Python's hash() changes between processes)
        key = zlib.crc32(counter.encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
