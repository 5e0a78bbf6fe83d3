"""Read-only SQL over the store's records: events, runs and parse problems."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from outagewatch.serve.params import iso
from outagewatch.serve.queries import Row, fetch_rows

EVENT_COLUMNS = (
    'event_id, kind, entity_type, entity, start, "end", status, scope, severity, score, summary, updated_at'
)


def active_events(
    cur: duckdb.DuckDBPyConnection, at: datetime, entity_type: str | None = None, kinds: tuple[str, ...] = ()
) -> list[Row]:
    """Events that had started and not yet ended at ``at`` (of one entity type / some kinds only)."""
    extra = "AND entity_type = ?" if entity_type else ""
    params: list[Any] = [at, at] + ([entity_type] if entity_type else [])
    if kinds:
        extra += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params += list(kinds)
    rows = fetch_rows(
        cur,
        f'SELECT {EVENT_COLUMNS} FROM events WHERE start <= ? AND ("end" IS NULL OR "end" > ?) {extra} '
        "ORDER BY start DESC, event_id",
        params,
    )
    return [event_out(r) for r in rows]


def ended_events(
    cur: duckdb.DuckDBPyConnection, since: datetime, at: datetime, kinds: tuple[str, ...]
) -> list[Row]:
    """Events of ``kinds`` that ended in ``(since, at]`` (recent history for the overview)."""
    rows = fetch_rows(
        cur,
        f'SELECT {EVENT_COLUMNS} FROM events WHERE "end" > ? AND "end" <= ? '
        f"AND kind IN ({', '.join('?' * len(kinds))}) ORDER BY start DESC, event_id",
        [since, at, *kinds],
    )
    return [event_out(r) for r in rows]


def find_events(
    cur: duckdb.DuckDBPyConnection, filters: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[Row]]:
    """Events matching ``filters`` (kind, entity_type, entity, severity, status, start, end), open first."""
    clauses, params = [], []
    for column in ("kind", "entity_type", "entity", "severity", "status"):
        if filters.get(column) is not None:
            clauses.append(f"{column} = ?")
            params.append(filters[column])
    if filters.get("start") is not None:
        clauses.append('("end" IS NULL OR "end" >= ?)')
        params.append(filters["start"])
    if filters.get("end") is not None:
        clauses.append("start < ?")
        params.append(filters["end"])
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    total_row = cur.execute(f"SELECT count(*) FROM events {where}", params).fetchone()
    rows = fetch_rows(
        cur,
        f"SELECT {EVENT_COLUMNS} FROM events {where} "
        "ORDER BY (status = 'open') DESC, start DESC, event_id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return (int(total_row[0]) if total_row else 0), [event_out(r) for r in rows]


def event_by_id(cur: duckdb.DuckDBPyConnection, event_id: str) -> Row | None:
    rows = fetch_rows(cur, f"SELECT {EVENT_COLUMNS}, evidence FROM events WHERE event_id = ?", [event_id])
    if not rows:
        return None
    row = event_out(rows[0])
    raw = rows[0]["evidence"]
    row["evidence"] = json.loads(raw) if isinstance(raw, str) else (raw or {})
    return row


def event_out(row: Row) -> Row:
    """An event row with ISO times and its duration in seconds (up to now for open events: null)."""
    out = dict(row)
    start, end = row["start"], row["end"]
    out["duration_seconds"] = None if end is None else int((end - start).total_seconds())
    for key in ("start", "end", "updated_at"):
        out[key] = iso(row[key])
    return out


def list_runs(cur: duckdb.DuckDBPyConnection, limit: int, offset: int) -> tuple[int, list[Row]]:
    total = cur.execute("SELECT count(*) FROM runs").fetchone()
    rows = fetch_rows(
        cur,
        "SELECT run_id, command, started_at, finished_at, seconds, inputs, elements, problems, bins, status, "
        "details FROM runs ORDER BY started_at DESC, run_id LIMIT ? OFFSET ?",
        [limit, offset],
    )
    return (int(total[0]) if total else 0), [run_out(r) for r in rows]


def run_out(row: Row) -> Row:
    out = dict(row)
    out["started_at"] = iso(row["started_at"])
    out["finished_at"] = iso(row["finished_at"])
    for key in ("inputs", "details"):
        out[key] = json.loads(row[key]) if isinstance(row[key], str) else row[key]
    return out


def run_by_id(cur: duckdb.DuckDBPyConnection, run_id: str) -> Row | None:
    rows = fetch_rows(
        cur,
        "SELECT run_id, command, started_at, finished_at, seconds, inputs, elements, problems, bins, status, "
        "details FROM runs WHERE run_id = ?",
        [run_id],
    )
    return run_out(rows[0]) if rows else None


def list_problems(
    cur: duckdb.DuckDBPyConnection, run_id: str | None, limit: int, offset: int
) -> tuple[int, list[Row]]:
    where, params = ("WHERE run_id = ?", [run_id]) if run_id else ("", [])
    total = cur.execute(f"SELECT count(*) FROM problems {where}", params).fetchone()
    rows = fetch_rows(
        cur,
        f'SELECT run_id, source, "offset", record_index, mrt_type, mrt_subtype, cause FROM problems {where} '
        'ORDER BY run_id, source, "offset", record_index LIMIT ? OFFSET ?',
        [*params, limit, offset],
    )
    return (int(total[0]) if total else 0), rows
