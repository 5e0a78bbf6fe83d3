"""``outagewatch backfill``: fetch the RIS / RouteViews archive files of a window, then process them."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from outagewatch.backfill.collectors import UnknownCollectorError, parse_collectors
from outagewatch.backfill.download import Cache, FetchOptions
from outagewatch.backfill.fetch import BaseUrlError, Fetched, fetch_window, parse_base_urls
from outagewatch.backfill.layout import floor_to

DEFAULT_CACHE = Path.home() / ".cache" / "outagewatch" / "archive"


def parse_time(value: str) -> datetime:
    """ISO 8601 (``2014-12-22T16:00Z``, ``2014-12-22 16:00``, ``2014-12-22``); naive means UTC."""
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2014-12-22T16:00Z)") from exc
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _report_fetch(fetched: Fetched) -> None:
    counts: dict[str, int] = {}
    for r in fetched.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    size = sum(r.bytes for r in fetched.results)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    typer.echo(
        f"plan ({fetched.plan.source}): {len(fetched.results)} files, {size / 1e6:.1f} MB: {summary}",
        err=True,
    )
    for r in fetched.problems:
        typer.echo(f"  {r.status}: {r.error}", err=True)
    for cp in fetched.plan.collectors:
        for lo, hi in cp.gaps:
            typer.echo(f"  {cp.collector}: no update file covers {lo:%Y-%m-%d %H:%M}–{hi:%H:%M}", err=True)


def backfill(
    collectors: Annotated[
        str, typer.Option(help="Comma-separated: rrc00,route-views2,… or ris / routeviews / all")
    ],
    start: Annotated[str, typer.Option(help="Window start, ISO 8601 UTC (e.g. 2014-12-22T12:00Z)")],
    end: Annotated[str, typer.Option(help="Window end, ISO 8601 UTC")],
    country: Annotated[
        str | None, typer.Option(help="Keep signals/events of this country (ISO code)")
    ] = None,
    base_url: Annotated[
        list[str] | None,
        typer.Option(
            "--base-url", help="Archive base: URL / directory / file:// URL, or ris=URL, routeviews=URL"
        ),
    ] = None,
    cache: Annotated[Path, typer.Option(help="Download cache (mirrors the archive layout)")] = DEFAULT_CACHE,
    db: Annotated[Path, typer.Option(help="DuckDB store")] = Path("outagewatch.duckdb"),
    dask: Annotated[
        str | None, typer.Option("--dask", help="Dask scheduler address (existing cluster)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Start a local Dask cluster with N worker processes")
    ] = None,
    parallel: Annotated[int, typer.Option(help="Parallel downloads")] = 4,
    retries: Annotated[int, typer.Option(help="Attempts per file")] = 4,
    offline: Annotated[bool, typer.Option(help="Use only the cache; no network")] = False,
    download_only: Annotated[bool, typer.Option(help="Fetch the files, do not process them")] = False,
    bin_seconds: Annotated[int, typer.Option(help="Signal bin width")] = 300,
    slice_seconds: Annotated[int, typer.Option(help="Dask task length (multiple of the bin)")] = 28800,
) -> None:
    """Download the RIB dumps and update files of a window from RIPE RIS / RouteViews, then process them."""
    try:
        chosen = parse_collectors(collectors)
        bases = parse_base_urls(base_url or [])
    except (UnknownCollectorError, BaseUrlError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    if dask and workers:
        raise typer.BadParameter("--dask and --workers are exclusive")
    bin_step = timedelta(seconds=bin_seconds)
    lo = floor_to(parse_time(start), bin_step)
    hi = parse_time(end)
    if hi <= lo:
        raise typer.BadParameter(f"--end {end} is not after --start {start}")
    options = FetchOptions(parallel=parallel, attempts=retries, offline=offline)
    fetched = fetch_window(chosen, lo, hi, bases=bases, cache=Cache(cache), options=options)
    _report_fetch(fetched)
    usable = fetched.usable_plan()
    if not usable.collectors:
        typer.echo("nothing to process: no collector has a RIB dump on disk", err=True)
        raise typer.Exit(2)
    if download_only:
        return
    from outagewatch.backfill.process import RunOptions, run_plan
    from outagewatch.engine.lookups import default_mapper

    run = RunOptions(
        db=db,
        country=country,
        bin_seconds=bin_seconds,
        slice_seconds=slice_seconds,
        dask_address=dask,
        workers=workers,
        progress=sys.stderr.isatty(),
        mapper_factory=default_mapper,
    )
    outcome = run_plan(usable, fetched.local, run)
    typer.echo(outcome.describe(country))


def register(app: typer.Typer) -> None:
    app.command(name="backfill")(backfill)
