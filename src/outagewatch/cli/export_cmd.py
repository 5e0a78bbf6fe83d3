"""``outagewatch export``: the store as Parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outagewatch.store.db import StoreError, connect
from outagewatch.store.export import export_parquet


def export(
    out: Annotated[Path, typer.Option(help="Output directory (one <table>.parquet per table)")],
    db: Annotated[Path, typer.Option(help="DuckDB store")] = Path("outagewatch.duckdb"),
) -> None:
    """Export every store table to Parquet."""
    try:
        con = connect(db, read_only=True)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        counts = export_parquet(con, out)
    finally:
        con.close()
    for table, n in counts.items():
        typer.echo(f"{out / (table + '.parquet')}: {n:,} rows")


def register(app: typer.Typer) -> None:
    app.command(name="export")(export)
