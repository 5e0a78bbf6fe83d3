"""``outagewatch signals``: print the signals of one entity from the store."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from outagewatch.store.db import StoreError, connect
from outagewatch.store.queries import EntityError, parse_entity, read_signals


def _time(value: str | None, name: str):  # type: ignore[no-untyped-def]
    if value is None:
        return None
    from outagewatch.cli.backfill_cmd import parse_time

    try:
        return parse_time(value)
    except typer.BadParameter as exc:
        raise typer.BadParameter(f"{name}: {exc}") from exc


def signals(
    entity: Annotated[str, typer.Option(help="country:KP | as:131279 | prefix:175.45.176.0/24 | global:all")],
    db: Annotated[Path, typer.Option(help="DuckDB store")] = Path("outagewatch.duckdb"),
    metric: Annotated[list[str] | None, typer.Option(help="Metric name (repeatable; default all)")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First bin, ISO 8601 UTC")] = None,
    end: Annotated[str | None, typer.Option("--to", help="End (exclusive), ISO 8601 UTC")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Print an entity's signals, one row per (bin, metric)."""
    if fmt not in ("table", "csv", "json"):
        raise typer.BadParameter(f"--format {fmt}: expected table, csv or json")
    try:
        etype, ent = parse_entity(entity)
    except EntityError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        con = connect(db, read_only=True)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        rows = read_signals(
            con, etype, ent, metrics=metric or [], start=_time(start, "--from"), end=_time(end, "--to")
        ).to_pylist()
    finally:
        con.close()
    if not rows:
        typer.echo(f"no signals for {etype}:{ent}", err=True)
    for r in rows:
        r["bin_start"] = r["bin_start"].isoformat()
    if fmt == "json":
        typer.echo(json.dumps(rows))
    elif fmt == "csv":
        writer = csv.DictWriter(
            sys.stdout, fieldnames=["bin_start", "bin_seconds", "entity_type", "entity", "metric", "value"]
        )
        writer.writeheader()
        writer.writerows(rows)
    else:
        _table(rows)


def _table(rows: list[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("bin_start (UTC)", "metric", "value")
    for r in rows:
        value = float(r["value"])  # type: ignore[arg-type]
        table.add_row(str(r["bin_start"]), str(r["metric"]), f"{value:g}")
    Console(width=160).print(table)


def register(app: typer.Typer) -> None:
    app.command(name="signals")(signals)
