"""The plain-language report of an event, told by :mod:`outagewatch.report` from the store's rows.

The event's story is told with all of its entity's events as context (instability before an
outage, a single upstream) and the store's names. Should the report module fail on a row it
does not expect, the API falls back to :func:`outagewatch.serve.status.fallback_report` and
says so (``report_source``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb

from outagewatch.detect.event import Event
from outagewatch.report import Query, render, stories
from outagewatch.serve import queries, records
from outagewatch.serve.params import parse_time
from outagewatch.serve.status import fallback_report


def _epoch(iso_text: str | None) -> int | None:
    when: datetime | None = parse_time(iso_text, "time")
    return None if when is None else int(when.timestamp())


def to_event(row: Mapping[str, Any]) -> Event:
    """An API event row (ISO times, parsed evidence) as a detector :class:`Event`."""
    start = _epoch(row["start"])
    updated = _epoch(row["updated_at"])
    assert start is not None and updated is not None
    return Event(
        kind=row["kind"],
        entity_type=row["entity_type"],
        entity=row["entity"],
        start=start,
        end=_epoch(row["end"]),
        severity=row["severity"],
        score=float(row["score"] or 0.0),
        summary=row["summary"],
        updated_at=updated,
        transition="closed" if row["end"] else "updated",
        scope=row.get("scope"),
        evidence=row.get("evidence") or {},
    )


def event_report(cur: duckdb.DuckDBPyConnection, event: Mapping[str, Any]) -> tuple[str, str, str]:
    """(text, markdown, source) for one event row; source is ``report`` or ``fallback``."""
    try:
        context = [
            records.event_by_id(cur, r["event_id"])
            for r in records.find_events(
                cur, {"entity_type": event["entity_type"], "entity": event["entity"]}, 500, 0
            )[1]
        ]
        events = [to_event(r) for r in context if r is not None]
        main = to_event(event)
        latest = queries.latest_bin(cur)
        query = Query(
            entity_type=main.entity_type,
            entity=main.entity,
            start=main.start,
            end=max(main.start, main.end - 1) if main.end is not None else main.updated_at,
            now=None if latest is None else int(latest.timestamp()),
        )
        told = stories(events, queries.names(cur), query)
        return render(told, "text"), render(told, "markdown"), "report"
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        text = fallback_report(event)
        return text, text, f"fallback ({type(exc).__name__}: {exc})"
