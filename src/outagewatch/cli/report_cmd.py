"""``outagewatch report``: plain-language report of the stored events of a country, an AS, or all."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outagewatch.cli.detect_cmd import parse_utc
from outagewatch.engine.detect_run import data_end, load_events, load_names
from outagewatch.report import FORMATS, Query, render, stories
from outagewatch.store.db import StoreError, connect


def _epoch(value: str | None, option: str) -> int | None:
    at = parse_utc(value, option)
    return None if at is None else int(at.timestamp())


def _entity(country: str | None, asn: str | None) -> tuple[str | None, str | None]:
    if country and asn:
        raise typer.BadParameter("give --country or --as, not both")
    if country:
        return "country", country.strip().upper()
    if asn:
        number = asn.strip().upper().removeprefix("AS")
        if not number.isdigit():
            raise typer.BadParameter(f"--as {asn!r}: an AS number expected (131279 or AS131279)")
        return "as", number
    return None, None


def report(
    db: Annotated[Path, typer.Option(help="DuckDB store")] = Path("outagewatch.duckdb"),
    country: Annotated[str | None, typer.Option(help="ISO country code, e.g. KP")] = None,
    asn: Annotated[str | None, typer.Option("--as", help="AS number, e.g. 131279")] = None,
    at: Annotated[str | None, typer.Option(help="Report the state at this time (ISO 8601 UTC)")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Window start, ISO 8601 UTC")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Window end, ISO 8601 UTC")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, markdown or json")] = "text",
) -> None:
    """Tell what happened to a country or network (or to everything), in plain language."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    if at is not None and (start is not None or end is not None):
        raise typer.BadParameter("give --at or --from/--to, not both")
    entity_type, entity = _entity(country, asn)
    try:
        con = connect(db, read_only=True)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        events = load_events(con, entity_type, entity)
        names = load_names(con)
        now = data_end(con)
    finally:
        con.close()
    q = Query(entity_type, entity, _epoch(at, "--at"), _epoch(start, "--from"), _epoch(end, "--to"), now)
    found = stories(events, names, q)
    if not found:
        typer.echo("no outage, instability or upstream change detected", err=True)
        return
    typer.echo(render(found, fmt), nl=False)


def register(app: typer.Typer) -> None:
    app.command(name="report")(report)
