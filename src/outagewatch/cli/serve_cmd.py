"""``outagewatch serve``: the REST API and dashboard over a DuckDB store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CANDIDATES = (Path("outagewatch.duckdb"), Path("outagewatch-demo") / "kp-2014.duckdb")
"""Stores served when ``--db`` is not given, first existing wins: the default store, then the
one ``outagewatch demo`` leaves (so `outagewatch demo` then `outagewatch serve` just works)."""


def default_store(cwd: Path) -> Path | None:
    """The first of :data:`CANDIDATES` that exists under ``cwd``."""
    return next((cwd / c for c in CANDIDATES if (cwd / c).exists()), None)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        db: Annotated[
            Path | None,
            typer.Option(
                "--db",
                help="DuckDB store to serve, read through snapshots (default: outagewatch.duckdb, "
                "else outagewatch-demo/kp-2014.duckdb)",
            ),
        ] = None,
        host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port")] = 8000,
        refresh: Annotated[float, typer.Option(help="seconds between checks of the store for changes")] = 2.0,
    ) -> None:
        """Serve the REST API (/api/v1, OpenAPI at /docs) and the dashboard (/) for a store."""
        import uvicorn

        from outagewatch.serve import create_app

        store = db if db is not None else default_store(Path.cwd())
        if store is None or not store.exists():
            missing = store or CANDIDATES[0]
            typer.echo(f"error: {missing}: no such database (run `outagewatch demo` first)", err=True)
            raise typer.Exit(2)
        base = f"http://{host}:{port}"
        typer.echo(f"serving {store}: dashboard {base}/  API {base}/docs", err=True)
        uvicorn.run(create_app(store, refresh_seconds=refresh), host=host, port=port, log_level="warning")
