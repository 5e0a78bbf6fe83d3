"""``outagewatch parse``: decode MRT files to bgpdump ``-m`` lines, JSON lines or Parquet."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer

from outagewatch.model.element import ELEMENT_SCHEMA
from outagewatch.model.problem import MrtError
from outagewatch.parse.bgpdump_format import fmt_ipv4, fmt_ipv6, render_batch
from outagewatch.sources.mrtfile import MrtProblemWarning, read_mrt


class OutputFormat(StrEnum):
    bgpdump = "bgpdump"
    jsonl = "jsonl"
    parquet = "parquet"


class Policy(StrEnum):
    ignore = "ignore"
    warn = "warn"
    fail = "fail"


_ADDR_COLUMNS = (("peer_ip", "peer_afi"), ("prefix", "afi"), ("nexthop", "nexthop_afi"))


def _addr(raw: bytes, afi: int) -> str | None:
    if afi == 4:
        return fmt_ipv4(raw)
    if afi == 6:
        return fmt_ipv6(raw)
    return None


def jsonl_lines(batch: pa.RecordBatch) -> Iterator[str]:
    """One JSON object per element: addresses as text, time as float seconds."""
    for row in batch.to_pylist():
        row["timestamp"] = row["timestamp"].timestamp()
        for col, afi_col in _ADDR_COLUMNS:
            row[col] = _addr(row[col], row[afi_col])
        if row["aggregator_ip"] is not None:
            row["aggregator_ip"] = fmt_ipv4(row["aggregator_ip"])
        yield json.dumps(row, separators=(",", ":"))


def _open_text(out: Path | None) -> IO[str]:
    if out is None:
        return sys.stdout
    return open(out, "w", encoding="utf-8")  # closed by the caller's ExitStack


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True)
    progress.add_task("parsing", total=total)
    return progress


def _emit_problem_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        if issubclass(w.category, MrtProblemWarning):
            typer.echo(f"warning: {w.message}", err=True)


def parse(
    files: Annotated[list[Path], typer.Argument(help="MRT files (plain, gzip or bzip2)")],
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format")] = (
        OutputFormat.bgpdump
    ),
    collector: Annotated[str, typer.Option(help="Collector name for the collector column")] = "",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output file (stdout if absent)")] = None,
    on_problem: Annotated[Policy, typer.Option(help="Damaged input: ignore, warn or fail")] = Policy.warn,
) -> None:
    """Decode MRT files: ``bgpdump -m`` lines, JSON lines, or a Parquet file for DuckDB/Polars."""
    if format is OutputFormat.parquet and out is None:
        typer.echo("error: --format parquet needs --out FILE", err=True)
        raise typer.Exit(2)
    failed = 0
    progress = _progress(sys.stderr.isatty() and len(files) > 0, len(files))
    with contextlib.ExitStack() as stack:
        if progress is not None:
            stack.enter_context(progress)
        writer: pq.ParquetWriter | None = None
        text: IO[str] | None = None
        if format is OutputFormat.parquet:
            assert out is not None
            writer = stack.enter_context(pq.ParquetWriter(str(out), ELEMENT_SCHEMA))
        else:
            text = _open_text(out)
            if out is not None:
                stack.callback(text.close)
        for path in files:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", MrtProblemWarning)
                    reader = read_mrt(path, collector=collector, on_problem=on_problem.value)
                    for batch in reader:
                        if progress is not None:
                            progress.update(
                                progress.task_ids[0],
                                description=f"{path.name}: {reader.stats.elements:,} elements",
                            )
                        if writer is not None:
                            writer.write_batch(batch)
                        elif text is not None:
                            lines = (
                                render_batch(batch) if format is OutputFormat.bgpdump else jsonl_lines(batch)
                            )
                            text.write("".join(line + "\n" for line in lines))
                _emit_problem_warnings(caught)
            except MrtError as exc:
                typer.echo(f"error: {exc}", err=True)
                failed += 1
            except BrokenPipeError:
                _quiet_broken_pipe()
            if progress is not None:
                progress.advance(progress.task_ids[0])
    if failed:
        raise typer.Exit(1)


def _quiet_broken_pipe() -> None:
    """The reader of our stdout went away (``| head``): stop without a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise typer.Exit(0)


def register(app: typer.Typer) -> None:
    """Add the ``parse`` command."""
    app.command(name="parse")(parse)
