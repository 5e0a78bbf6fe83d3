"""Running a scenario: plan, encode, write RIS-layout gzip files (the thin shell of the simulator)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from outagewatch.simulate.encode import Encoder
from outagewatch.simulate.generate import (
    I64,
    OP_ANNOUNCE,
    OP_DOWN,
    OP_WITHDRAW,
    Bool,
    Plan,
    build_plan,
    epoch,
    state_at,
    topology,
)
from outagewatch.simulate.scenario import Scenario
from outagewatch.simulate.scenario_toml import load_scenario
from outagewatch.simulate.splice import expand, splice
from outagewatch.simulate.truth import TruthEvent, ground_truth


@dataclass(frozen=True)
class CollectorOutput:
    """What was written for one collector; counts are per prefix (bgpdump ``-m`` lines)."""

    name: str
    rib: Path
    updates: tuple[Path, ...]
    rib_entries: int
    announcements: int
    withdrawals: int
    state_changes: int
    spliced_records: int = 0
    problems: tuple[str, ...] = ()
    ribs: tuple[Path, ...] = ()  # every RIB dump, ``rib`` first (``rib_every_hours``)


@dataclass(frozen=True)
class SimulationResult:
    scenario: Scenario
    seed: int
    out_dir: Path
    collectors: tuple[CollectorOutput, ...]
    truth: tuple[TruthEvent, ...] = field(default=())

    @property
    def files(self) -> list[Path]:
        return [p for c in self.collectors for p in (*(c.ribs or (c.rib,)), *c.updates)]

    def totals(self) -> dict[str, int]:
        keys = ("rib_entries", "announcements", "withdrawals", "state_changes", "spliced_records")
        return {k: sum(getattr(c, k) for c in self.collectors) for k in keys}


def file_path(out_dir: Path, collector: str, kind: str, t: int) -> Path:
    """RIS layout: ``DIR/<collector>/YYYY.MM/<kind>.YYYYMMDD.HHMM.gz``."""
    d = datetime.fromtimestamp(t, UTC)
    return out_dir / collector / d.strftime("%Y.%m") / f"{kind}.{d.strftime('%Y%m%d.%H%M')}.gz"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=5, mtime=0))


def simulate_scenario(
    name_or_path: str | Path | Scenario, out_dir: str | Path, *, seed: int = 0, base_dir: Path | None = None
) -> SimulationResult:
    """Simulate a scenario (built-in name, TOML path or :class:`Scenario`) into ``out_dir``.

    ``base_dir`` resolves relative splice paths (default: the current directory).
    """
    scenario = name_or_path if isinstance(name_or_path, Scenario) else load_scenario(name_or_path)
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    topo = topology(scenario, rng)
    plan, at_start = build_plan(scenario, topo, rng)
    enc = Encoder(scenario)
    records = enc.updates(plan)
    owner = enc_collector(enc, plan.peer)
    outputs = []
    for ci, c in enumerate(scenario.collectors):
        ribs, n_rib = _write_ribs(scenario, enc, plan, at_start, ci, out, rng)
        mine = np.flatnonzero(owner == ci)
        c_ts, c_rec = plan.ts[mine], [records[i] for i in mine.tolist()]
        spliced = [
            splice(expand(s.paths, base_dir or Path.cwd()), epoch(scenario.start), epoch(scenario.end),
                   scenario.bin_seconds, s.repeat)
            for s in scenario.splice
            if s.collector == c.name
        ]  # fmt: skip
        for got in spliced:
            c_ts = np.concatenate([c_ts, got.arrays()])
            c_rec += got.records
        paths = _write_updates(scenario, out, c.name, c_ts, c_rec)
        ops = plan.op[mine]
        outputs.append(
            CollectorOutput(
                c.name,
                ribs[0],
                paths,
                n_rib,
                int((ops == OP_ANNOUNCE).sum()),
                int((ops == OP_WITHDRAW).sum()),
                int((ops >= OP_DOWN).sum()),
                sum(len(g.records) for g in spliced),
                tuple(p for g in spliced for p in g.problems),
                ribs,
            )
        )
    return SimulationResult(scenario, seed, out, tuple(outputs), tuple(ground_truth(scenario)))


def _write_ribs(
    scenario: Scenario, enc: Encoder, plan: Plan, at_start: Bool, ci: int, out: Path, rng: np.random.Generator
) -> tuple[tuple[Path, ...], int]:
    """The RIB at the start (and every ``rib_every_hours``); returns the paths and the start RIB's entries."""
    name = scenario.collectors[ci].name
    rib, n_rib = enc.rib(ci, at_start, rng)
    paths = [file_path(out, name, "bview", epoch(scenario.start))]
    _write(paths[0], rib)
    for at in rib_times(scenario):
        carries, alts = state_at(plan, at_start, at)
        paths.append(file_path(out, name, "bview", at))
        _write(paths[-1], enc.rib(ci, carries, rng, at, alts)[0])
    return tuple(paths), n_rib


def _write_updates(
    scenario: Scenario, out: Path, name: str, ts: I64, records: list[bytes]
) -> tuple[Path, ...]:
    """One update file per bin (empty ones too), records in time order (stable)."""
    start, b = epoch(scenario.start), scenario.bin_seconds
    order = np.argsort(ts, kind="stable")
    edges = np.searchsorted(ts[order], start + b * np.arange(scenario.n_bins + 1))
    paths = []
    for k in range(scenario.n_bins):
        path = file_path(out, name, "updates", start + k * b)
        _write(path, b"".join(records[i] for i in order[edges[k] : edges[k + 1]].tolist()))
        paths.append(path)
    return tuple(paths)


def rib_times(scenario: Scenario) -> list[int]:
    """Times of the periodic RIB dumps after the start (multiples of ``rib_every_hours`` in UTC)."""
    if not scenario.rib_every_hours:
        return []
    step = scenario.rib_every_hours * 3600
    start, end = epoch(scenario.start), epoch(scenario.end)
    return list(range(start - start % step + step, end, step))


def enc_collector(enc: Encoder, peers: I64) -> I64:
    coll = np.array([p.collector for p in enc.peers], np.int64)
    out: I64 = coll[peers]
    return out


def bins_of(scenario: Scenario) -> list[datetime]:
    """Start of every bin in the window."""
    return [scenario.start + timedelta(seconds=scenario.bin_seconds * k) for k in range(scenario.n_bins)]
