"""``outagewatch serve``: the REST API and dashboard over a DuckDB store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        db: Annotated[
            Path, typer.Option("--db", help="DuckDB store to serve (opened read-only, via snapshots)")
        ] = Path("outagewatch.duckdb"),
        host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port")] = 8000,
        refresh: Annotated[float, typer.Option(help="seconds between checks of the store for changes")] = 2.0,
    ) -> None:
        """Serve the REST API (/api/v1, OpenAPI at /docs) and the dashboard (/) for a store."""
        import uvicorn

        from outagewatch.serve import create_app

        if not db.exists():
            typer.echo(f"error: {db}: no such database (run `outagewatch demo --db {db}` first)", err=True)
            raise typer.Exit(2)
        typer.echo(
            f"outagewatch dashboard: http://{host}:{port}/  (API: http://{host}:{port}/docs)", err=True
        )
        uvicorn.run(create_app(db, refresh_seconds=refresh), host=host, port=port, log_level="warning")
