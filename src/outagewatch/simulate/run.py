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
    ts = plan.ts
    start, end, b = epoch(scenario.start), epoch(scenario.end), scenario.bin_seconds
    outputs = []
    for ci, c in enumerate(scenario.collectors):
        rib, n_rib = enc.rib(ci, at_start, rng)
        rib_path = file_path(out, c.name, "bview", start)
        _write(rib_path, rib)
        ribs = [rib_path]
        for at in rib_times(scenario):
            carries, alts = state_at(plan, at_start, at)
            ribs.append(file_path(out, c.name, "bview", at))
            _write(ribs[-1], enc.rib(ci, carries, rng, at, alts)[0])
        mine = np.flatnonzero(enc_collector(enc, plan.peer) == ci)
        c_ts, c_rec = ts[mine], [records[i] for i in mine.tolist()]
        sp = [s for s in scenario.splice if s.collector == c.name]
        n_sp, problems = 0, []
        for s in sp:
            got = splice(expand(s.paths, base_dir or Path.cwd()), start, end, b, s.repeat)
            c_ts = np.concatenate([c_ts, got.arrays()])
            c_rec += got.records
            n_sp += len(got.records)
            problems += got.problems
        order = np.argsort(c_ts, kind="stable")
        c_ts = c_ts[order]
        edges = np.searchsorted(c_ts, start + b * np.arange(scenario.n_bins + 1))
        paths = []
        for k in range(scenario.n_bins):
            path = file_path(out, c.name, "updates", start + k * b)
            _write(path, b"".join(c_rec[i] for i in order[edges[k] : edges[k + 1]].tolist()))
            paths.append(path)
        ops = plan.op[mine]
        outputs.append(
            CollectorOutput(
                c.name,
                rib_path,
                tuple(paths),
                n_rib,
                int((ops == OP_ANNOUNCE).sum()),
                int((ops == OP_WITHDRAW).sum()),
                int((ops >= OP_DOWN).sum()),
                n_sp,
                tuple(problems),
                tuple(ribs),
            )
        )
    return SimulationResult(scenario, seed, out, tuple(outputs), tuple(ground_truth(scenario)))


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
