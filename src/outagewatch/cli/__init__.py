"""The ``outagewatch`` command line: one module per command, registered here."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="outagewatch",
    help="Watch global BGP routing for Internet outages and instability.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each command module defines ``register(app)``. Listed in pipeline order.
COMMAND_MODULES: tuple[str, ...] = (
    "simulate_cmd",
    "parse_cmd",
    "ingest_cmd",
    "signals_cmd",
    "export_cmd",
    "detect_cmd",
    "report_cmd",
    "demo_cmd",
    "backfill_cmd",
    "serve_cmd",
    "watch_cmd",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    app()
