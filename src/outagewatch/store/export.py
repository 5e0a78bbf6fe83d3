"""Parquet export of the store, one file per table.

Signals are exported twice: ``signal_changes.parquet`` as stored (change-coded, compact) and
``signals.parquet``, the dense rows of the ``signals`` view, so readers of an export need not
carry values forward themselves."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

EXPORT_TABLES = (
    "signal_changes",
    "signals",
    "bins",
    "peers",
    "entities",
    "entity_prefixes",
    "runs",
    "problems",
    "inputs",
    "events",
    "gaps",
)


def export_parquet(con: duckdb.DuckDBPyConnection, out_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Write ``<table>.parquet`` for every store table into ``out_dir``; returns rows per table."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    # information_schema.tables lists views too (table_type 'VIEW'): ``signals`` is one
    counts: dict[str, int] = {}
    for table in EXPORT_TABLES:
        if table not in existing:
            continue
        target = out / f"{table}.parquet"
        escaped = str(target).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM {table}) TO '{escaped}' (FORMAT PARQUET, COMPRESSION ZSTD)")
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
