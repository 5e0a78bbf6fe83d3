"""Opening the embedded DuckDB store and bringing its schema up to date."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from outagewatch.store.schema import MIGRATIONS, SCHEMA_VERSION

DEFAULT_DB = "outagewatch.duckdb"


class StoreError(Exception):
    """The store cannot be opened or is newer than this program."""


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of an open database (0 for an empty one)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the forward migrations the database lacks; return the resulting version."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise StoreError(f"database schema v{current} is newer than this outagewatch (v{SCHEMA_VERSION})")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        con.execute(MIGRATIONS[version - 1])
        con.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
        con.execute("COMMIT")
    return SCHEMA_VERSION


def connect(
    path: str | os.PathLike[str] = DEFAULT_DB, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed, unless read-only) the store at ``path`` with an up-to-date schema."""
    p = Path(path)
    if read_only:
        if not p.exists():
            raise StoreError(f"{p}: no such database")
        try:
            con = duckdb.connect(str(p), read_only=True)
        except duckdb.Error as exc:
            raise StoreError(f"{p}: cannot open database read-only: {exc}") from exc
        con.execute("SET TimeZone = 'UTC'")
        version = schema_version(con)
        if version != SCHEMA_VERSION:
            con.close()
            raise StoreError(f"{p}: schema v{version} needs migration; open it once read-write")
        return con
    try:
        con = duckdb.connect(str(p))
    except duckdb.Error as exc:
        raise StoreError(f"{p}: cannot open database: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    migrate(con)
    return con
