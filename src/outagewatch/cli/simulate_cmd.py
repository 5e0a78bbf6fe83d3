"""``outagewatch simulate``: write a scenario's genuine MRT files (RIS layout) and its ground truth."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from outagewatch.simulate import SimulationResult, Splice, builtin_names, load_scenario, simulate_scenario
from outagewatch.simulate.scenario import Scenario, validate


def _utc(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            f"{option} {value!r}: not an ISO 8601 time (e.g. 2014-12-22T16:00Z)"
        ) from exc
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _splices(values: list[str]) -> tuple[Splice, ...]:
    out = []
    for v in values:
        collector, sep, pattern = v.partition("=")
        if not sep or not collector or not pattern:
            raise typer.BadParameter(f"--splice {v!r}: expected COLLECTOR=GLOB")
        out.append(Splice(collector, (pattern,)))
    return tuple(out)


def manifest(result: SimulationResult, seconds: float) -> dict[str, Any]:
    """The JSON written beside the files: scenario, seed, files, counts and ground truth."""
    s = result.scenario
    return {
        "scenario": s.name,
        "seed": result.seed,
        "start": s.start.isoformat(),
        "end": s.end.isoformat(),
        "bin_seconds": s.bin_seconds,
        "seconds": round(seconds, 3),
        "collectors": [
            {
                **{k: v for k, v in dataclasses.asdict(c).items() if k not in ("rib", "ribs", "updates")},
                "rib": str(c.rib),
                "ribs": [str(p) for p in c.ribs],
                "updates": len(c.updates),
            }
            for c in result.collectors
        ],
        "truth": [
            {
                **dataclasses.asdict(t),
                "start": t.start.isoformat(),
                "end": t.end.isoformat() if t.end else None,
            }
            for t in result.truth
        ],
        "countries": {p.prefix: p.country for p in s.prefixes},
    }


def simulate(
    scenario: Annotated[str, typer.Option(help="Built-in scenario name or a scenario TOML file")] = "kp-2014",
    out: Annotated[Path, typer.Option(help="Output folder (RIS layout: OUT/<collector>/YYYY.MM/)")] = Path(
        "sim"
    ),
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same bytes")] = 0,
    start: Annotated[str | None, typer.Option("--from", help="Narrow the window: start (UTC)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Narrow the window: end (UTC)")] = None,
    splice: Annotated[
        list[str] | None, typer.Option(help="Real update files as background: COLLECTOR=GLOB (repeatable)")
    ] = None,
    rib_every_hours: Annotated[
        int | None, typer.Option(help="Also dump the RIB every N hours (RIS: 8); default: the scenario's")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the built-in scenarios and exit")] = False,
) -> None:
    """Simulate a scenario into genuine MRT files (gzip TABLE_DUMP_V2 RIB + BGP4MP updates)."""
    if list_:
        for name in builtin_names():
            typer.echo(f"{name:<18} {load_scenario(name).description}")
        return
    try:
        scn: Scenario = load_scenario(scenario)
        changes: dict[str, Any] = {}
        lo, hi = _utc(start, "--from"), _utc(end, "--to")
        if lo is not None:
            changes["start"] = lo
        if hi is not None:
            changes["end"] = hi
        if rib_every_hours is not None:
            changes["rib_every_hours"] = rib_every_hours
        if splice:
            changes["splice"] = scn.splice + _splices(splice)
        scn = dataclasses.replace(scn, **changes)
        validate(scn)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    t0 = time.perf_counter()
    result = simulate_scenario(scn, out, seed=seed)
    took = time.perf_counter() - t0
    (out / "scenario.json").write_text(json.dumps(manifest(result, took), indent=1), encoding="utf-8")
    tot = result.totals()
    typer.echo(
        f"{scn.name}: {len(result.files)} files in {out} ({took:.1f} s): {tot['rib_entries']:,} RIB entries, "
        f"{tot['announcements']:,} announcements, {tot['withdrawals']:,} withdrawals, "
        f"{tot['state_changes']:,} state changes, {tot['spliced_records']:,} spliced records"
    )
    for c in result.collectors:
        for p in c.problems:
            typer.echo(f"warning: {c.name}: {p}", err=True)
    for t in result.truth:
        end_s = t.end.isoformat() if t.end else "after the window"
        typer.echo(f"  truth: {t.kind:<15} {t.entity_type}:{t.entity:<16} {t.start.isoformat()} → {end_s}")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
