"""The backfill plan on Dask: (collector, time-slice) tasks → partial signals → merge → detect.

Each :class:`~outagewatch.backfill.plan.SliceTask` is processed by :func:`slice_partial` with the
same core functions as the local engine: the MRT reader, :class:`SignalEngine` (its RIB load and
per-bin roll-ups) and the mergeable :mod:`outagewatch.signals.partial` algebra. A slice starts
from the latest RIB dump at or before its start and replays the updates from that dump; bins
before the slice start only bring the state forward (the far ones through the routing state
alone, the last few through the engine so that gap filling at the slice edge is exactly what a
continuous run does). Every bin belongs to exactly one slice, so ``fold(merge)`` over the slices
reproduces the continuous run; detection then runs on the merged series.

``map → fold(merge) → finalize``: on a ``distributed.Client`` (an existing scheduler, or a
``LocalCluster`` this module starts) or in-process when there is none. No Dask import reaches
the core; this module is shell.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from outagewatch.backfill.plan import Plan, SliceTask, slice_tasks
from outagewatch.signals import partial as P
from outagewatch.signals.changes import BinRows
from outagewatch.signals.engine import PEER_SCHEMA, ClosedBin, SignalEngine
from outagewatch.signals.state import Rows

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SliceConfig:
    """What every slice needs besides its files (picklable: shipped to the workers)."""

    bin_seconds: int = 300
    fill_gap_seconds: int = 900
    watch: tuple[str, ...] = ()
    mapper_factory: Callable[[], Any] | None = None
    """Builds the prefix → country mapper on the worker (``None``: no country roll-ups)."""
    reader: Callable[[str, str], Iterable[pa.RecordBatch]] | None = None
    """``(path, collector) → batches``; ``None`` is the MRT reader (a top-level function: picklable)."""


@dataclass(frozen=True, slots=True)
class SliceResult:
    """The partial signals of some slices plus their bookkeeping (mergeable by :func:`merge_results`).

    Partials are kept per bin (``bin_start_us → partial``): bins of one collector never overlap
    between slices, so only the same bin seen by two collectors needs a real
    :func:`~outagewatch.signals.partial.merge`; everything else is a disjoint union.
    """

    partials: dict[int, P.SignalPartial]
    peers: pa.Table
    bins: pa.Table
    elements: int
    problems: tuple[str, ...] = ()
    tasks: int = 1
    seconds: float = 0.0
    read: int = 0
    """Elements parsed, warm-up and RIB included (the work done, for throughput)."""


BIN_SCHEMA = pa.schema([("bin_start", P.TS), ("bin_seconds", pa.int32()), ("elements", pa.int64())])


def empty_result() -> SliceResult:
    return SliceResult({}, PEER_SCHEMA.empty_table(), BIN_SCHEMA.empty_table(), 0, (), 0)


def _merge_partials(
    a: dict[int, P.SignalPartial], b: dict[int, P.SignalPartial]
) -> dict[int, P.SignalPartial]:
    out = dict(a)
    for k, v in b.items():
        out[k] = P.merge(out[k], v) if k in out else v
    return out


def finalize(result: SliceResult) -> pa.Table:
    """The long signal table of a merged result, bin by bin (bins are independent)."""
    parts = [b.rows for b in dense_bins(result)]
    return pa.concat_tables(parts) if parts else P.finalize(P.empty())


def dense_bins(result: SliceResult) -> list[BinRows]:
    """The dense signal rows of every bin of a merged result, in bin order."""
    secs = result.bins.column("bin_seconds").to_pylist()
    width = int(secs[0]) if secs else 0
    return [BinRows(k, width, P.finalize(result.partials[k])) for k in sorted(result.partials)]


def _merge_bins(a: pa.Table, b: pa.Table) -> pa.Table:
    both = pa.concat_tables([a, b])
    if both.num_rows == 0:
        return BIN_SCHEMA.empty_table()
    agg = both.group_by(["bin_start", "bin_seconds"]).aggregate([("elements", "sum")])
    agg = agg.rename_columns(["bin_start", "bin_seconds", "elements"]).select(BIN_SCHEMA.names)
    return agg.sort_by([("bin_start", "ascending")]).cast(BIN_SCHEMA)  # group_by order is not stable


def merge_results(a: SliceResult, b: SliceResult) -> SliceResult:
    """Associative, commutative, ``empty_result()`` as identity (partials merge by their own laws)."""
    return SliceResult(
        _merge_partials(a.partials, b.partials),
        pa.concat_tables([a.peers, b.peers]),
        _merge_bins(a.bins, b.bins),
        a.elements + b.elements,
        a.problems + b.problems,
        a.tasks + b.tasks,
        a.seconds + b.seconds,
        a.read + b.read,
    )


def _read(cfg: SliceConfig, path: str, collector: str, problems: list[str]) -> Iterator[pa.RecordBatch]:
    if cfg.reader is not None:
        yield from cfg.reader(path, collector)
        return
    from outagewatch import read_mrt

    reader = read_mrt(path, collector=collector)
    yield from reader
    problems.extend(str(p) for p in getattr(reader, "problems", ()))


@dataclass(slots=True)
class _SliceRun:
    """One slice while its files stream through the engine.

    The engine bins an element at ``max(its own bin, the open bin when its batch arrived)``;
    ``open_bin`` tracks that so the split between *far* bins (state only) and *near* bins (through
    the engine) puts every element where a continuous run would. Far elements are applied bin by
    bin, each bin's elements in stable time order, as the engine's bin close does.
    """

    engine: SignalEngine
    near_bin: int
    start_us: int
    end_us: int
    open_bin: int = -(2**62)
    far: dict[int, list[pa.RecordBatch]] = field(default_factory=dict)
    partials: dict[int, P.SignalPartial] = field(default_factory=dict)
    peers: list[pa.Table] = field(default_factory=list)
    bins: list[tuple[int, int]] = field(default_factory=list)
    read: int = 0

    @property
    def done(self) -> bool:
        return self.open_bin * self.engine.bin_us >= self.end_us

    def keep(self, closed: list[ClosedBin]) -> None:
        for c in closed:
            if self.start_us <= c.bin_start_us < self.end_us:
                assert c.partial is not None  # a dense engine's
                self.partials[c.bin_start_us] = c.partial
                self.peers.append(c.peers)
                self.bins.append((c.bin_start_us, c.elements))

    def apply_far(self, below: int) -> None:
        for b in sorted(k for k in self.far if k < below):
            parts = self.far.pop(b)  # the engine applies them in stable time order
            self.engine.apply_outside([Rows(p, 0, p.num_rows) for p in parts])

    def feed(self, batch: pa.RecordBatch) -> None:
        self.read += batch.num_rows
        ts = batch.column("timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False)
        if len(ts) == 0:
            return
        eff = np.maximum(ts // self.engine.bin_us, self.open_bin)
        far = eff < self.near_bin
        if far.any():
            for b in np.unique(eff[far]).tolist():
                self.far.setdefault(int(b), []).append(batch.filter(pa.array(eff == b)))
        self.open_bin = int(eff.max())
        if far.all():
            self.apply_far(self.open_bin)
            return
        self.apply_far(self.near_bin)
        self.keep(self.engine.feed(batch.filter(pa.array(~far))))


_MAPPERS: dict[Any, Any] = {}


def _mapper(factory: Callable[[], Any] | None) -> Any:
    """The prefix → country mapper, built once per worker process for a given factory."""
    if factory is None:
        return None
    if factory not in _MAPPERS:
        _MAPPERS[factory] = factory()
    return _MAPPERS[factory]


def slice_partial(task: SliceTask, paths: Mapping[str, str], cfg: SliceConfig) -> SliceResult:
    """Partial signals of one (collector, slice) task, from its RIB dump and update files."""
    t0 = time.perf_counter()
    mapper = _mapper(cfg.mapper_factory)
    engine = SignalEngine(
        bin_seconds=cfg.bin_seconds,
        mapper=mapper,
        watch=cfg.watch,
        fill_gap_seconds=cfg.fill_gap_seconds,
        dense=True,  # every bin's mergeable partial: the same bin of two collectors merges
    )
    problems: list[str] = []
    rib_entries = engine.feed_rib(_read(cfg, paths[task.rib.path], task.collector, problems))
    start_us = int(task.start.timestamp()) * 1_000_000
    near_bin = start_us // engine.bin_us - (cfg.fill_gap_seconds // cfg.bin_seconds) - 1
    run = _SliceRun(engine, near_bin, start_us, int(task.end.timestamp()) * 1_000_000)
    for update in task.updates:
        for batch in _read(cfg, paths[update.path], task.collector, problems):
            run.feed(batch)
            if run.done:
                break
        if run.done:
            break
    run.apply_far(2**62)
    run.keep(engine.flush())
    bins = pa.table(
        {
            "bin_start": pa.array([b for b, _ in run.bins], pa.int64()).cast(P.TS),
            "bin_seconds": pa.array([cfg.bin_seconds] * len(run.bins), pa.int32()),
            "elements": pa.array([n for _, n in run.bins], pa.int64()),
        }
    )
    peers = pa.concat_tables(run.peers) if run.peers else PEER_SCHEMA.empty_table()
    kept = sum(n for _, n in run.bins)
    return SliceResult(
        run.partials, peers, bins, kept, tuple(problems), 1, time.perf_counter() - t0, rib_entries + run.read
    )


def fold_tree(items: Sequence[T], merge: Callable[[T, T], T], empty: T) -> T:
    """Pairwise tree reduction in a fixed order (deterministic, like the Dask reduction below)."""
    level = list(items)
    if not level:
        return empty
    while len(level) > 1:
        nxt = [merge(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _task_paths(task: SliceTask, paths: Mapping[str, str]) -> dict[str, str]:
    return {f.path: paths[f.path] for f in task.files}


def map_fold_dask(
    client: Any,
    tasks: Sequence[SliceTask],
    paths: Mapping[str, str],
    cfg: SliceConfig,
    *,
    progress: bool = False,
) -> SliceResult:
    """``map(slice_partial)`` on the cluster, then the same pairwise tree of merges there."""
    if not tasks:
        return empty_result()
    level = [client.submit(slice_partial, t, _task_paths(t, paths), cfg, pure=False) for t in tasks]
    if progress:
        from distributed import progress as show_progress  # type: ignore[attr-defined]

        show_progress(level)  # type: ignore[no-untyped-call]
    while len(level) > 1:
        nxt = [
            client.submit(merge_results, level[i], level[i + 1], pure=False)
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    result: SliceResult = level[0].result()
    return result


def map_fold_local(
    tasks: Sequence[SliceTask], paths: Mapping[str, str], cfg: SliceConfig, *, progress: bool = False
) -> SliceResult:
    """The same map and tree of merges, in this process (a rich progress bar when asked)."""
    if not progress:
        return fold_tree([slice_partial(t, paths, cfg) for t in tasks], merge_results, empty_result())
    from rich.progress import track

    done = [slice_partial(t, paths, cfg) for t in track(tasks, description="tasks", transient=True)]
    return fold_tree(done, merge_results, empty_result())


@contextmanager
def dask_client(address: str | None, workers: int | None) -> Iterator[Any]:
    """A client of an existing scheduler, or of a ``LocalCluster`` of ``workers`` processes."""
    from distributed import Client, LocalCluster

    if address:
        with Client(address) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    n = max(1, workers or 1)
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=n, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


def run_slices(
    plan: Plan,
    local: Mapping[str, Path],
    cfg: SliceConfig,
    *,
    slice_seconds: int,
    client: Any | None = None,
    progress: bool = False,
) -> SliceResult:
    """Every (collector, slice) task of ``plan`` → one merged :class:`SliceResult`."""
    tasks = slice_tasks(plan, slice_seconds, cfg.bin_seconds)
    paths = {k: str(v) for k, v in local.items()}
    if client is None:
        return map_fold_local(tasks, paths, cfg, progress=progress)
    return map_fold_dask(client, tasks, paths, cfg, progress=progress)
