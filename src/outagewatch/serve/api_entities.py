"""API: overview, entities with status, and signals."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, Depends, Query

from outagewatch.serve import queries, records
from outagewatch.serve.deps import get_cursor, resolve_at
from outagewatch.serve.errors import ERROR_RESPONSES, bad_parameter, not_found
from outagewatch.serve.params import (
    AGGREGATES,
    BIN_LADDER,
    check_choice,
    check_metrics,
    check_range,
    choose_bin,
    iso,
    parse_time,
)
from outagewatch.serve.status import status_of, status_rank

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

EntityType = Literal["country", "as", "prefix", "global"]
Cursor = Annotated[duckdb.DuckDBPyConnection, Depends(get_cursor)]
AtParam = Annotated[str | None, Query(description="UTC ISO 8601 time; default: the latest stored bin")]
PROBLEM_KINDS = ("outage", "instability", "upstream_change")
"""The overview lists these (``single_upstream`` is a standing property, shown on entity pages)."""
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
OVERVIEW_EVENTS = 200
SPARK_POINTS = 100
"""At most this many points per sparkline (levels: minimum per bucket, so drops stay visible)."""
DEFAULT_METRICS = ["ipv4.visible_prefixes.*", "ipv4.visible_slash24.*", "all.*", "upstream.*"]


def _with_status(rows: list[dict[str, Any]], active: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ev in active:
        by_key.setdefault((ev["entity_type"], ev["entity"]), []).append(ev)
    for row in rows:
        events = by_key.get((row["entity_type"], row["entity"]), [])
        row["status"] = status_of(events)
        row["active_events"] = [ev["event_id"] for ev in events]
    return rows


def _overview_order(row: dict[str, Any]) -> tuple[int, float, str]:
    """Worst status first; within a status, the smallest share of the window's peak first."""
    share = row["sparkline"]["share_of_peak"]
    return (status_rank(row["status"]), 1.0 if share is None else share, row["entity"])


@router.get("/overview", summary="Every country with its status and a sparkline of visible /24s")
def overview(
    cur: Cursor,
    at: AtParam = None,
    hours: Annotated[int, Query(ge=1, le=24 * 31, description="sparkline window before `at`")] = 48,
) -> dict[str, Any]:
    when = resolve_at(cur, at)
    countries = queries.list_entities(cur, "country")
    if when is None:
        return {"at": None, "metric": None, "countries": [], "active_events": [], "recent_events": []}
    active = records.active_events(cur, when, kinds=PROBLEM_KINDS)
    _with_status(countries, active)
    metric = queries.headline_metric(cur, "country")
    window = (when - timedelta(hours=hours), when + timedelta(seconds=1))
    out_bin = next((b for b in BIN_LADDER if hours * 3600 / b <= SPARK_POINTS), BIN_LADDER[-1])
    spark = queries.sparklines(cur, "country", metric, window, out_bin) if metric else {}
    for row in countries:
        row["sparkline"] = spark.get(row["entity"]) or queries.spark_entry([], [])
    countries.sort(key=_overview_order)
    active.sort(key=_worst_first)
    recent = sorted(records.ended_events(cur, window[0], when, PROBLEM_KINDS), key=_worst_first)
    return {
        "at": iso(when),
        "metric": metric,
        "countries": countries,
        "active_events": active[:OVERVIEW_EVENTS],
        "recent_events": recent[:OVERVIEW_EVENTS],
    }


def _worst_first(event: dict[str, Any]) -> tuple[bool, int, int, str]:
    """Open first, then outages before instability before upstream changes, then by severity."""
    kind = PROBLEM_KINDS.index(event["kind"]) if event["kind"] in PROBLEM_KINDS else len(PROBLEM_KINDS)
    return (event["status"] != "open", kind, -SEVERITY_RANK.get(event["severity"], 0), event["start"])


@router.get("/entities", summary="Entities (countries, ASes, watched prefixes) with their status at a time")
def entities(
    cur: Cursor,
    type: Annotated[EntityType | None, Query(description="only this entity type")] = None,
    at: AtParam = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    when = resolve_at(cur, at)
    rows = queries.list_entities(cur, type)
    active = records.active_events(cur, when) if when is not None else []
    page = _with_status(rows[offset : offset + limit], active)
    return {"at": iso(when), "total": len(rows), "limit": limit, "offset": offset, "items": page}


@router.get("/entities/{entity_type}/{entity:path}", summary="One entity: status, links, metrics, data span")
def entity(entity_type: EntityType, entity: str, cur: Cursor, at: AtParam = None) -> dict[str, Any]:
    row = queries.entity_row(cur, entity_type, entity)
    if row is None:
        raise not_found(f"unknown entity {entity_type}/{entity}", "entity")
    when = resolve_at(cur, at)
    active = [
        ev
        for ev in (records.active_events(cur, when, entity_type) if when is not None else [])
        if ev["entity"] == entity
    ]
    first, last, stored = queries.data_span(cur, entity_type, entity)
    row.update(
        at=iso(when),
        status=status_of(active),
        active_events=active,
        related=queries.related(cur, entity_type, entity, row.get("country")),
        metrics=queries.metrics_of(cur, entity_type, entity),
        first_bin=iso(first),
        data_end=iso(last),
        bin_seconds=stored,
    )
    return row


@router.get("/signals", summary="Signal series of one entity over a time range, downsampled for long ranges")
def signals(
    cur: Cursor,
    entity_type: Annotated[EntityType, Query()],
    entity: Annotated[str, Query(min_length=1, max_length=100)],
    metric: Annotated[list[str] | None, Query(description="metric names or prefixes ending in '*'")] = None,
    start: Annotated[str | None, Query(description="UTC ISO 8601; default: `end` minus 3 days")] = None,
    end: Annotated[str | None, Query(description="UTC ISO 8601; default: end of the latest bin")] = None,
    bin: Annotated[int | None, Query(ge=1, le=86400 * 7, description="output bin, seconds")] = None,
    agg: Annotated[str, Query(description="auto | min | max | mean | sum | last")] = "auto",
) -> dict[str, Any]:
    check_choice(agg, AGGREGATES, "agg")
    patterns = check_metrics(metric or DEFAULT_METRICS)
    if queries.entity_row(cur, entity_type, entity) is None:
        raise not_found(f"unknown entity {entity_type}/{entity}", "entity")
    _first, last, stored = queries.data_span(cur, entity_type, entity)
    t_end = parse_time(end, "end") or last
    t_start = parse_time(start, "start") or (t_end - timedelta(days=3) if t_end is not None else None)
    if t_start is None or t_end is None or stored is None:
        if start is None or end is None:
            raise bad_parameter(
                "entity", f"{entity_type}/{entity} has no signals; give start and end", "no_data"
            )
        t_start, t_end, stored = parse_time(start, "start"), parse_time(end, "end"), 300
    assert t_start is not None and t_end is not None
    check_range(t_start, t_end)
    out_bin = choose_bin(t_start, t_end, stored, bin)
    series = queries.signal_series(
        cur, (entity_type, entity, stored), patterns, (t_start, t_end), out_bin, agg
    )
    return {
        "entity_type": entity_type,
        "entity": entity,
        "start": iso(t_start),
        "end": iso(t_end),
        "stored_bin_seconds": stored,
        "bin_seconds": out_bin,
        "series": series,
    }
