"""DuckDB connections for the feature maths: cursors on one process-wide in-memory database.

Opening a DuckDB database costs ~11 ms, a cursor ~5 µs; the stream aggregator queries on every refresh, so
the database is opened once. Tables registered on a cursor stay private to it and vanish when it closes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

_lock = threading.Lock()
_database: duckdb.DuckDBPyConnection | None = None


def _shared_database() -> duckdb.DuckDBPyConnection:
    global _database
    with _lock:
        if _database is None:
            _database = duckdb.connect()
        return _database


@contextmanager
def connection(*, threads: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection of its own for one computation. `threads` (a database-wide setting) gets a private
    database, so it never changes other callers' queries."""
    if threads is not None:
        own = duckdb.connect(config={"threads": int(threads)})
        try:
            yield own
        finally:
            own.close()
        return
    cursor = _shared_database().cursor()
    try:
        yield cursor
    finally:
        cursor.close()
