"""``outagewatch detect``: run the detectors over the stored signals, write and print the events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from outagewatch.detect.event import Event, iso
from outagewatch.engine.detect_run import detect_store
from outagewatch.store.db import StoreError, connect


def parse_utc(value: str | None, option: str) -> datetime | None:
    """ISO 8601 (``2014-12-22T16:00Z``, ``2014-12-22 16:00``, ``2014-12-22``); naive means UTC."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            f"{option} {value!r}: not an ISO 8601 time (e.g. 2014-12-22T16:00Z)"
        ) from exc
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def event_line(ev: Event) -> str:
    end = "open" if ev.end is None else iso(ev.end)
    scope = f" {ev.scope}" if ev.scope else ""
    return (
        f"{ev.event_id}  {ev.kind:<15} {ev.entity_type}:{ev.entity:<10} {iso(ev.start)} → {end:<20}"
        f" {ev.severity:<8}{scope}  {ev.summary}"
    )


def detect(
    db: Annotated[Path, typer.Option(help="DuckDB store")] = Path("outagewatch.duckdb"),
    start: Annotated[str | None, typer.Option("--from", help="Window start, ISO 8601 UTC")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Window end, ISO 8601 UTC")] = None,
    bin_seconds: Annotated[int, typer.Option(help="Bin width of the signals to read")] = 300,
    show_fragility: Annotated[bool, typer.Option(help="Also print single-upstream events")] = False,
) -> None:
    """Detect outages, instability and upstream changes; upsert the events and print them."""
    lo, hi = parse_utc(start, "--from"), parse_utc(end, "--to")
    try:
        con = connect(db)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        summary = detect_store(con, start=lo, end=hi, bin_seconds=bin_seconds)
    finally:
        con.close()
    if summary.bins == 0:
        typer.echo(f"{db}: no {bin_seconds}-second bins stored; run `outagewatch ingest` first", err=True)
    counts: dict[str, int] = {}
    for ev in summary.events:
        counts[ev.kind] = counts.get(ev.kind, 0) + 1
        if ev.kind != "single_upstream" or show_fragility:
            typer.echo(event_line(ev))
    per_kind = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no events"
    typer.echo(
        f"{len(summary.events)} events ({per_kind}) over {summary.entities} entities and {summary.bins} bins"
        f" in {summary.seconds:.1f} s, written to {db}",
        err=True,
    )


def register(app: typer.Typer) -> None:
    app.command(name="detect")(detect)
