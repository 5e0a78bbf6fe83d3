"""The demo: simulate kp-2014, compute signals, store, detect, and tell the North Korea story.

Thin wiring over the simulator, the signal engine, the store, detection and the report. Every
collector's RIB and updates go to one signal engine (updates of all collectors merged in time
order, each element tagged with its collector), so the peers of all collectors make one view
of every bin; the finished bins (their change-coded signal rows) are bulk-written into a fresh
DuckDB store at the end.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from outagewatch import read_mrt
from outagewatch.detect.event import Event
from outagewatch.detect.point import wanted_metric
from outagewatch.engine.detect_run import data_end, detect_store, load_events, load_names
from outagewatch.engine.entities import entity_tables
from outagewatch.engine.lookups import AsInfo
from outagewatch.model.element import ELEMENT_SCHEMA
from outagewatch.report import Query, render, stories
from outagewatch.signals.engine import ClosedBin, SignalEngine
from outagewatch.signals.mapping import RangeMapper
from outagewatch.simulate import SimulationResult, simulate_scenario
from outagewatch.simulate.scenario import Scenario
from outagewatch.store.changes import write_changes
from outagewatch.store.db import connect
from outagewatch.store.writes import insert, upsert

SCENARIO = "kp-2014"
_STAMP = re.compile(r"\.(\d{8})\.(\d{4})\.")
Step = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo did, and the KP story it found."""

    db: Path
    mrt_dir: Path
    files: int = 0
    elements: int = 0
    events: list[Event] = field(default_factory=list)
    report: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


def scenario_mapper(scenario: Scenario) -> RangeMapper:
    """prefix → country ranges from the scenario's own prefix list."""
    v4: list[tuple[int, int, str]] = []
    v6: list[tuple[int, int, str]] = []
    for p in scenario.prefixes:
        net = ipaddress.ip_network(p.prefix, strict=False)
        row = (int(net.network_address), int(net.broadcast_address), p.country)
        (v4 if net.version == 4 else v6).append(row)
    return RangeMapper(sorted(v4), sorted(v6))


def collector_stream(updates: Sequence[Path], collector: str, scratch: Path) -> pa.Table:
    """All of one collector's update files as one table: the gzip members are concatenated into
    one multi-member file first, so the reader opens one file instead of thousands."""
    joined = scratch / f"{collector}.updates.gz"
    with joined.open("wb") as out:
        for path in sorted(updates, key=_stamp):
            out.write(path.read_bytes())
    reader = read_mrt(joined, collector=collector)
    table = pa.Table.from_batches(list(reader), ELEMENT_SCHEMA)
    joined.unlink()
    return table


def _stamp(path: Path) -> str:
    m = _STAMP.search(path.name)
    return m.group(1) + m.group(2) if m else path.name


@dataclass
class Bins:
    """Finished bins, reduced to what the store keeps (change-coded signal rows filtered by
    :func:`kept_signals`)."""

    signals: list[pa.Table] = field(default_factory=list)
    starts_us: list[int] = field(default_factory=list)
    keyframes: list[int] = field(default_factory=list)
    elements: list[int] = field(default_factory=list)
    peers: list[pa.Table] = field(default_factory=list)
    bin_seconds: int = 300

    def take(self, closed: Sequence[ClosedBin]) -> None:
        for cb in closed:
            self.signals.append(kept_signals(cb.signals))
            self.starts_us.append(cb.bin_start_us)
            if cb.keyframe:
                self.keyframes.append(cb.bin_start_us)
            self.elements.append(cb.elements)
            self.peers.append(cb.peers)


def signal_pass(sim: SimulationResult, scratch: Path) -> tuple[SignalEngine, Bins, int]:
    """One signal engine over every collector: RIBs first, then all updates in time order."""
    engine = SignalEngine(bin_seconds=sim.scenario.bin_seconds, mapper=scenario_mapper(sim.scenario))
    for c in sim.collectors:
        engine.feed_rib(read_mrt(c.rib, collector=c.name))
    updates = [collector_stream(c.updates, c.name, scratch) for c in sim.collectors]
    merged = pa.concat_tables(updates, promote_options="permissive").sort_by("timestamp")
    bins = Bins(bin_seconds=sim.scenario.bin_seconds)
    for batch in merged.to_batches(max_chunksize=100_000):
        bins.take(engine.feed(batch))
    bins.take(engine.flush())
    return engine, bins, merged.num_rows


def store_bins(
    con: duckdb.DuckDBPyConnection, engine: SignalEngine, bins: Bins, as_info: AsInfo | None
) -> int:
    """Bulk-write signals, bins, peers and entities into a fresh store; returns the signal
    change rows stored (the engine's first bin is the keyframe)."""
    rows = write_changes(
        con,
        pa.concat_tables(bins.signals),
        bin_seconds=bins.bin_seconds,
        bins=bins.starts_us,
        keyframes=bins.keyframes,
    )
    n = len(bins.starts_us)
    table = pa.table(
        {
            "bin_start": pa.array(bins.starts_us, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "bin_seconds": pa.array([bins.bin_seconds] * n, pa.int32()),
            "complete": pa.array([True] * n),
            "elements": pa.array(bins.elements, pa.int64()),
        }
    )
    insert(con, "bins", table)
    insert(con, "peers", pa.concat_tables(bins.peers))
    ents, ent_prefixes = entity_tables(engine, as_info)
    upsert(con, "entities", ents)
    upsert(con, "entity_prefixes", ent_prefixes)
    return rows


def kept_signals(table: pa.Table) -> pa.Table:
    """The rows the demo keeps: what the detectors read, plus IPv4 visibility at every full-feed
    threshold and announcements for countries, prefixes and the global view (the charts); for
    origin ASes only what the detectors read. Keeps the demo store small and quick to write.

    ``table`` holds signal rows (``SIGNAL_SCHEMA``: string columns dictionary-encoded), dense or
    change-coded: the choice is per (entity type, metric), so it keeps or drops every row of a
    key alike, and kept change rows densify to the kept dense rows. Decided per record batch
    on its dictionaries (a few metric names each), applied through the dictionary codes; the
    kept rows stay dictionary-encoded."""
    kept = []
    for batch in table.to_batches():
        metric, etype = batch.column("metric"), batch.column("entity_type")
        flags = np.array([_kept(m) for m in metric.dictionary.to_pylist()], dtype=bool).reshape(-1, 2)
        not_as = np.array([t != "as" for t in etype.dictionary.to_pylist()], dtype=bool)
        codes = metric.indices.to_numpy(zero_copy_only=False)
        keep = flags[codes, 0] | (flags[codes, 1] & not_as[etype.indices.to_numpy(zero_copy_only=False)])
        if keep.all():
            kept.append(batch)
        elif keep.any():
            kept.append(batch.filter(pa.array(keep)))
    return pa.Table.from_batches(kept, table.schema)


@functools.lru_cache(maxsize=65536)
def _kept(metric: str | None) -> tuple[bool, bool]:
    """(a detector reads it, a dashboard chart of a country, prefix or the global view shows it)."""
    if metric is None:
        return False, False
    chart = (metric.startswith("ipv4.visible_") and ".ff_" in metric) or metric == "all.announcements"
    return wanted_metric(metric), chart


def run_demo(
    out_dir: Path,
    db: Path | None = None,
    *,
    seed: int = 0,
    as_info: AsInfo | None = None,
    step: Step | None = None,
) -> DemoResult:
    """Simulate → signals → store → detect → report; leaves a fresh store at ``db`` (default:
    ``out_dir/kp-2014.duckdb``; an existing file there is replaced)."""
    say = step or (lambda _msg: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    db = db or out_dir / f"{SCENARIO}.duckdb"
    res = DemoResult(db=db, mrt_dir=out_dir / "mrt")
    t = time.perf_counter()
    say(f"simulating {SCENARIO} into {res.mrt_dir} …")
    sim = simulate_scenario(SCENARIO, res.mrt_dir, seed=seed)
    res.files = len(sim.files)
    res.seconds["simulate"] = time.perf_counter() - t
    say(f"computing signals from {res.files} MRT files of {len(sim.collectors)} collectors …")
    t = time.perf_counter()
    engine, bins, res.elements = signal_pass(sim, out_dir)
    res.seconds["signals"] = time.perf_counter() - t
    say(f"writing {len(bins.starts_us)} bins to {db} …")
    t = time.perf_counter()
    db.unlink(missing_ok=True)
    con = connect(db)
    try:
        con.execute("BEGIN TRANSACTION")
        store_bins(con, engine, bins, as_info)
        con.execute("COMMIT")
        res.seconds["store"] = time.perf_counter() - t
        say("detecting …")
        t = time.perf_counter()
        res.events = detect_store(con, bin_seconds=sim.scenario.bin_seconds).events
        res.report = kp_report(con, sim)
    finally:
        con.close()
    res.seconds["detect"] = time.perf_counter() - t
    return res


def kp_report(con: duckdb.DuckDBPyConnection, sim: SimulationResult) -> str:
    """The KP story in the middle of the outage ("so far") and over the whole scenario."""
    outage = next((tr for tr in sim.truth if tr.kind == "outage" and tr.entity == "KP"), None)
    events = load_events(con, "country", "KP")
    names = load_names(con)
    now = data_end(con, sim.scenario.bin_seconds)
    parts = []
    if outage is not None:
        at = int(outage.start.timestamp()) + 2 * 3600 + 5 * 60
        when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        parts.append(f"At {when}:\n" + render(stories(events, names, Query("country", "KP", at=at)), "text"))
    whole = stories(events, names, Query("country", "KP", now=now))
    parts.append("Over the whole scenario:\n" + render(whole, "text"))
    return "\n".join(parts)


def next_commands(db: Path) -> Sequence[str]:
    return (
        f"outagewatch report --db {db} --country KP --format markdown",
        f"outagewatch report --db {db}",
        f"outagewatch signals --db {db} --entity country:KP --metric ipv4.visible_slash24.ff_50pct",
        f"outagewatch serve --db {db}",
    )


__all__ = [
    "DemoResult",
    "kp_report",
    "next_commands",
    "run_demo",
    "scenario_mapper",
    "signal_pass",
    "store_bins",
]
