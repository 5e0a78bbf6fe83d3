"""``outagewatch demo``: simulate North Korea 2014, detect it, tell it, and leave a store to explore."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from outagewatch.engine.demo import next_commands, run_demo
from outagewatch.engine.lookups import as_info_from_file


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the simulated MRT files and the store")] = Path(
        "outagewatch-demo"
    ),
    db: Annotated[
        Path | None, typer.Option(help="DuckDB store to create (default: OUT/kp-2014.duckdb)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Simulation seed")] = 0,
    as_names: Annotated[
        Path | None, typer.Option(help="AS names file (asnames.json[.gz]) for the report")
    ] = None,
) -> None:
    """Simulate kp-2014, compute signals, detect, print the KP report and leave the DuckDB store."""
    if db is not None and db.exists():
        typer.echo(
            f"error: {db} exists; the demo writes a fresh store (remove it or pick another --db)", err=True
        )
        raise typer.Exit(2)
    info = as_info_from_file(as_names) if as_names is not None else None
    t0 = time.perf_counter()
    res = run_demo(out, db, seed=seed, as_info=info, step=lambda msg: typer.echo(msg, err=True))
    typer.echo("")
    typer.echo(res.report)
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in res.seconds.items())
    kinds: dict[str, int] = {}
    for ev in res.events:
        kinds[ev.kind] = kinds.get(ev.kind, 0) + 1
    found = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    typer.echo(
        f"{res.files} MRT files, {res.elements:,} updates; events: {found};"
        f" {time.perf_counter() - t0:.0f} s ({parts})",
        err=True,
    )
    typer.echo(f"\nThe store is {res.db}. Next:")
    for cmd in next_commands(res.db):
        typer.echo(f"  {cmd}")


def register(app: typer.Typer) -> None:
    app.command(name="demo")(demo)
