"""API: events (filtered, paginated; one with evidence and report), runs, problems, health, version."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, Query, Request

from outagewatch import __version__
from outagewatch.serve import queries, records
from outagewatch.serve.api_entities import Cursor, EntityType
from outagewatch.serve.errors import ERROR_RESPONSES, ApiError, not_found
from outagewatch.serve.params import MAX_PAGE, check_range, iso, parse_time
from outagewatch.serve.report_text import event_report
from outagewatch.serve.snapshot import Snapshot
from outagewatch.serve.status import affected_prefixes
from outagewatch.store.db import StoreError
from outagewatch.store.schema import SCHEMA_VERSION

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size (at most {MAX_PAGE})")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.get("/events", summary="Events, open first then newest first, with filters and pagination")
def events(
    cur: Cursor,
    kind: Annotated[
        Literal["outage", "instability", "upstream_change", "single_upstream"] | None, Query()
    ] = None,
    entity_type: Annotated[EntityType | None, Query()] = None,
    entity: Annotated[str | None, Query(max_length=100)] = None,
    severity: Annotated[Literal["low", "medium", "high", "critical"] | None, Query()] = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    start: Annotated[str | None, Query(description="events still running at or after this UTC time")] = None,
    end: Annotated[str | None, Query(description="events that started before this UTC time")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    t_start, t_end = parse_time(start, "start"), parse_time(end, "end")
    if t_start is not None and t_end is not None:
        check_range(t_start, t_end, max_range=t_end - t_start)
    filters = {
        "kind": kind,
        "entity_type": entity_type,
        "entity": entity,
        "severity": severity,
        "status": status,
        "start": t_start,
        "end": t_end,
    }
    total, rows = records.find_events(cur, filters, limit, offset)
    return {"total": total, "limit": limit, "offset": offset, "items": rows}


@router.get("/events/{event_id}", summary="One event with its evidence, affected prefixes and report text")
def event(event_id: str, cur: Cursor) -> dict[str, Any]:
    row = records.event_by_id(cur, event_id)
    if row is None:
        raise not_found(f"unknown event {event_id}", "event_id")
    row["affected_prefixes"] = affected_prefixes(row["evidence"]) or _dropped(cur, row)
    row["report"], row["report_markdown"], row["report_source"] = event_report(cur, row)
    return row


def _dropped(cur: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> list[str]:
    start = parse_time(row["start"], "start")
    end = parse_time(row["end"] or row["updated_at"], "end")
    assert start is not None and end is not None
    if end <= start:
        end = start + timedelta(seconds=300)
    dropped = queries.dropped_prefixes(cur, row["entity_type"], row["entity"], start, end)
    if dropped or row["kind"] != "outage" or row["scope"] != "full":
        return dropped
    return [p["prefix"] for p in queries.related(cur, row["entity_type"], row["entity"], None)["prefixes"]]


@router.get("/runs", summary="Run records: what was ingested, counts, problems, time taken")
def runs(cur: Cursor, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    total, rows = records.list_runs(cur, limit, offset)
    return {"total": total, "limit": limit, "offset": offset, "items": rows}


@router.get("/runs/{run_id}", summary="One run record")
def run(run_id: str, cur: Cursor) -> dict[str, Any]:
    row = records.run_by_id(cur, run_id)
    if row is None:
        raise not_found(f"unknown run {run_id}", "run_id")
    return row


@router.get("/problems", summary="Parse problems (source, byte offset, record, cause), optionally of one run")
def problems(
    cur: Cursor,
    run_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    total, rows = records.list_problems(cur, run_id, limit, offset)
    return {"total": total, "limit": limit, "offset": offset, "items": rows}


@router.get("/version", summary="Program and schema version")
def version() -> dict[str, Any]:
    return {"version": __version__, "schema_version": SCHEMA_VERSION}


@router.get("/health", summary="Whether the store is readable, how fresh the snapshot is, the latest bin")
def health(request: Request) -> dict[str, Any]:
    snapshot: Snapshot = request.app.state.snapshot
    try:
        with snapshot.cursor() as cur:
            latest = queries.latest_bin(cur)
    except StoreError as exc:
        raise ApiError(503, "store_unavailable", str(exc)) from None
    return {
        "status": "ok",
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "latest_bin": iso(latest),
        "snapshot": snapshot.info(),
    }
