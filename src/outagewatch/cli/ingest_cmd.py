"""``outagewatch ingest``: MRT files → routing state → per-bin signals in the DuckDB store."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from outagewatch.engine.ingest import RunSummary, ingest_files
from outagewatch.engine.lookups import as_info_from_files, default_mapper
from outagewatch.model.problem import MrtError


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _describe(s: RunSummary) -> str:
    span = (
        f"{s.first_bin:%Y-%m-%d %H:%M} – {s.last_bin:%Y-%m-%d %H:%M} UTC"
        if s.first_bin and s.last_bin
        else "no bins"
    )
    lines = [
        f"run {s.run_id}: {len(s.inputs)} files, {s.elements:,} elements, {s.problems} problems, "
        f"{s.bins} bins ({span}), {s.signal_rows:,} signal change rows, {s.seconds:.1f} s",
        f"collector {s.collector}; state from {s.state_source}",
    ]
    lines += [f"  problem: {text}" for text in s.problem_samples]
    if s.already_ingested:
        lines.append(f"{len(s.already_ingested)} file(s) were ingested before; their bins were rewritten")
    return "\n".join(lines)


def ingest(
    files: Annotated[list[Path], typer.Argument(help="MRT update files (gzip/bzip2 or plain)", exists=True)],
    db: Annotated[Path, typer.Option(help="DuckDB store (created if missing)")] = Path("outagewatch.duckdb"),
    rib: Annotated[
        list[Path] | None, typer.Option("--rib", help="RIB dump to start from (repeatable)", exists=True)
    ] = None,
    collector: Annotated[str | None, typer.Option(help="Collector name (default: from the path)")] = None,
    bin_seconds: Annotated[int, typer.Option("--bin", help="Bin width in seconds (60 … 86400)")] = 300,
    watch_prefix: Annotated[
        list[str] | None, typer.Option("--watch-prefix", help="Prefix to track (repeatable)")
    ] = None,
    full_feed_share: Annotated[
        float, typer.Option(help="Full-feed peer: table ≥ this share of the largest")
    ] = 0.75,
    as_names: Annotated[
        list[Path] | None, typer.Option(help="AS names: asnames.json[.gz] or RIR delegated (repeatable)")
    ] = None,
    countries: Annotated[
        list[Path] | None,
        typer.Option(help="Prefix → country file over the default: delegated, range TSV, .mmdb (repeatable)"),
    ] = None,
    no_countries: Annotated[bool, typer.Option(help="Skip prefix → country mapping")] = False,
) -> None:
    """Ingest MRT files: routing state per peer, full-feed peers, and per-bin signals."""
    if not 60 <= bin_seconds <= 86400:
        raise typer.BadParameter(f"--bin {bin_seconds}: must be between 60 and 86400 seconds")
    import ipaddress

    for p in watch_prefix or []:
        try:
            ipaddress.ip_network(p, strict=False)
        except ValueError as exc:
            raise typer.BadParameter(f"--watch-prefix {p}: {exc}") from exc
    mapper = None if no_countries else default_mapper(countries or [])
    info = as_info_from_files(as_names) if as_names else None
    try:
        with _progress(sys.stderr.isatty()) as progress:
            summary = ingest_files(
                db,
                files,
                ribs=rib or [],
                collector=collector,
                bin_seconds=bin_seconds,
                watch=watch_prefix or [],
                mapper=mapper,
                as_info=info,
                full_feed_share=full_feed_share,
                progress=progress,
            )
    except MrtError as exc:  # an unusable RIB: the run is rolled back, the store left as it was
        typer.echo(f"error: {exc} (nothing stored)", err=True)
        raise typer.Exit(1) from None
    typer.echo(_describe(summary))


def register(app: typer.Typer) -> None:
    app.command(name="ingest")(ingest)
