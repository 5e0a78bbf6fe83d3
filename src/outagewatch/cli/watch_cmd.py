"""``outagewatch watch``: live monitoring from RIS Live with checkpoints, gap accounting and alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from outagewatch.alerts.config import AlertConfig, ConfigError
from outagewatch.alerts.config import load as load_config


def watch(
    db: Annotated[Path, typer.Option(help="DuckDB store (created if missing)")],
    source: Annotated[str, typer.Option(help="Live source (only ris-live)")] = "ris-live",
    url: Annotated[
        str | None, typer.Option(help="RIS Live websocket URL (default: the public service)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML file with [live] and [alerts] (docs/live.md)")
    ] = None,
    rib: Annotated[
        list[Path] | None, typer.Option("--rib", help="RIB dump to start from (repeatable)", exists=True)
    ] = None,
    bin_seconds: Annotated[
        int | None, typer.Option("--bin", help="Bin width in seconds (60 … 86400)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Only this route collector (RIS Live host filter)")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics on this port")] = None,
    no_countries: Annotated[bool, typer.Option(help="Skip prefix → country mapping")] = False,
    as_names: Annotated[
        Path | None, typer.Option(help="AS names file (asnames.json[.gz])", exists=True)
    ] = None,
) -> None:
    """Watch RIS Live: bins, signals and events into the store, alerts to the configured channels."""
    from outagewatch.live import run
    from outagewatch.live.settings import parse as parse_live

    if source != "ris-live":
        raise typer.BadParameter(
            f"unknown source {source!r}; only ris-live is supported", param_hint="--source"
        )
    try:
        doc: dict[str, Any] = {}
        alerts = AlertConfig()
        if config is not None:
            alerts, doc = load_config(config)
        overrides = {"url": url, "bin_seconds": bin_seconds, "metrics_port": metrics_port}
        if no_countries:
            overrides["countries"] = False
        settings = parse_live(doc, overrides, source=str(config or "command line"))
        if host:
            settings = _with_host(settings, host)
    except ConfigError as exc:
        typer.echo(f"outagewatch watch: {exc}", err=True)
        raise typer.Exit(2) from exc
    mapper = None
    if settings.countries:
        from outagewatch.engine.lookups import default_mapper

        mapper = default_mapper()
    try:
        as_info = None
        if as_names is not None:
            from outagewatch.engine.lookups import as_info_from_file

            as_info = as_info_from_file(as_names)
        watcher, info = run.build(db, settings, rib or (), mapper=mapper, alerts=alerts, as_info=as_info)
    except (ValueError, OSError) as exc:
        typer.echo(f"outagewatch watch: {exc}", err=True)
        raise typer.Exit(1) from exc
    gap = f"; gap recorded from {info.gap_from:%Y-%m-%d %H:%M} UTC" if info.gap_from else ""
    typer.echo(
        f"run {info.run_id}: watching {settings.client.url} in {settings.bin_seconds}-s bins; "
        f"state from {info.state_source}{gap}; checkpoints in {info.folder}",
        err=True,
    )
    run.run_forever(watcher, settings)


def _with_host(settings: Any, host: str) -> Any:
    from dataclasses import replace

    sub = dict(settings.client.subscribe)
    sub["host"] = host
    return replace(settings, client=replace(settings.client, subscribe=sub))


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)
