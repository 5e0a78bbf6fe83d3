"""Files → reader → :class:`SignalEngine` → DuckDB store. The wiring behind ``outagewatch ingest``.

State: ``--rib`` files are loaded first (a RIB re-synchronises the state). Without a RIB, the
run starts from the newest routing-state snapshot saved beside the store at or before the first
element (see :mod:`outagewatch.store.state_files`), else from an empty state built from updates
only. At the end the state is saved for the next window.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.engine.bin_writer import BinWriter
from outagewatch.engine.entities import entity_tables
from outagewatch.model.problem import MrtError, Problem, problems_table
from outagewatch.signals.engine import DEFAULT_FULL_FEED_SHARE, ClosedBin, SignalEngine
from outagewatch.signals.mapping import PrefixMapper
from outagewatch.signals.snapshot import StateSnapshot, restore, snapshot
from outagewatch.sources.read_ahead import read_ahead
from outagewatch.store import state_files
from outagewatch.store.db import connect
from outagewatch.store.writes import RunRecord, ingested_digests, insert, upsert, write_run

ProgressFn = Callable[[int, int], None]
"""Called with (bytes done, bytes total) as files are processed."""


class ElementReader(Protocol):
    problems: list[Problem]

    def __iter__(self) -> Any: ...


ReadFn = Callable[[str, str], Iterable[pa.RecordBatch]]

_RIS = re.compile(r"^rrc\d\d$")
_RV = re.compile(r"^route-views[\w.-]*$")


def infer_collector(path: str | os.PathLike[str]) -> str:
    """Collector name from an archive path: ``.../rrc04/2022.01/...`` → ``rrc04``;
    ``.../route-views.sydney/bgpdata/...`` → ``route-views.sydney``; ``.../bgpdata/...`` (the
    RouteViews root) → ``route-views2``; otherwise ``unknown``."""
    parts = Path(path).parts
    for part in reversed(parts[:-1]):
        if _RIS.match(part) or _RV.match(part):
            return part
    name = Path(path).name
    for token in re.split(r"[._]", name):
        if _RIS.match(token):
            return token
    return "route-views2" if "bgpdata" in parts else "unknown"


def file_digest(path: str | os.PathLike[str]) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


@dataclass(slots=True)
class RunSummary:
    """What one ingest run did."""

    run_id: str
    collector: str
    inputs: list[str]
    ribs: list[str]
    elements: int = 0
    problems: int = 0
    bins: int = 0
    signal_rows: int = 0  # signal change rows stored (docs/signals.md, "Store")
    seconds: float = 0.0
    first_bin: datetime | None = None
    last_bin: datetime | None = None
    state_source: str = "empty"
    already_ingested: list[str] = field(default_factory=list)
    problem_samples: list[str] = field(default_factory=list)  # the first few, as text


def _default_read(path: str, collector: str) -> Iterable[pa.RecordBatch]:
    from outagewatch import read_mrt

    reader: Iterable[pa.RecordBatch] = read_mrt(path, collector=collector, on_problem="ignore")
    return reader


class _Run:
    """Mutable bookkeeping of one run (kept out of the public summary); closed bins go to a
    :class:`BinWriter`, which owns the connection until :meth:`close`."""

    def __init__(self, con: Any, summary: RunSummary, bin_seconds: int) -> None:
        self.con, self.summary, self.bin_seconds = con, summary, bin_seconds
        self.writer = BinWriter(con)
        self.problem_rows: list[Problem] = []

    def take(self, closed: list[ClosedBin]) -> None:
        if not closed:
            return
        self.writer.take(closed)
        s = self.summary
        s.bins += len(closed)
        first = datetime.fromtimestamp(closed[0].bin_start_us / 1e6, tz=UTC)
        last = datetime.fromtimestamp(closed[-1].bin_start_us / 1e6, tz=UTC)
        s.first_bin = min(s.first_bin, first) if s.first_bin else first
        s.last_bin = max(s.last_bin, last) if s.last_bin else last

    def close(self) -> None:
        """Every taken bin written; the connection is free again."""
        self.summary.signal_rows = self.writer.close()


def ingest_files(
    db_path: str | os.PathLike[str],
    files: Sequence[str | os.PathLike[str]],
    *,
    ribs: Sequence[str | os.PathLike[str]] = (),
    collector: str | None = None,
    bin_seconds: int = 300,
    watch: Sequence[str] = (),
    mapper: PrefixMapper | None = None,
    as_info: Callable[[Sequence[int]], dict[int, tuple[str | None, str | None]]] | None = None,
    full_feed_share: float = DEFAULT_FULL_FEED_SHARE,
    progress: ProgressFn | None = None,
    read: ReadFn | None = None,
) -> RunSummary:
    """Ingest MRT files into the store at ``db_path`` and return what was done."""
    t0 = time.perf_counter()
    started = datetime.now(tz=UTC)
    paths = [os.fspath(f) for f in files]
    rib_paths = [os.fspath(f) for f in ribs]
    name = collector or infer_collector((rib_paths or paths)[0])
    read_fn = read or _default_read
    summary = RunSummary(uuid.uuid4().hex, name, paths, rib_paths)
    con = connect(db_path)
    con.execute("SET enable_progress_bar = false")
    run: _Run | None = None
    try:
        con.execute("BEGIN TRANSACTION")
        done_before = ingested_digests(con, name)
        run = _Run(con, summary, bin_seconds)
        engine = _make_engine(
            db_path, name, paths, rib_paths, read_fn, summary, bin_seconds, watch, mapper, full_feed_share
        )
        inputs = _process(run, engine, paths, done_before, read_fn, name, progress)
        run.take(engine.flush())
        final = _final_tables(engine, as_info)  # while the writer drains
        run.close()
        upsert(con, "inputs", inputs)
        _finish(db_path, run, final, name, started, t0, bin_seconds)
        con.execute("COMMIT")
    except BaseException:
        if run is not None:
            run.writer.abort()
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return summary


def _make_engine(
    db_path: str | os.PathLike[str],
    name: str,
    paths: list[str],
    rib_paths: list[str],
    read_fn: ReadFn,
    summary: RunSummary,
    bin_seconds: int,
    watch: Sequence[str],
    mapper: PrefixMapper | None,
    share: float,
) -> SignalEngine:
    state = None
    if not rib_paths and paths:
        start = _first_timestamp(read_fn, paths, name)
        snap = state_files.load_before(db_path, name, start) if start is not None else None
        if snap is not None:
            state = restore(snap[1])
            summary.state_source = f"snapshot at {datetime.fromtimestamp(snap[0] / 1e6, tz=UTC).isoformat()}"
    engine = SignalEngine(
        bin_seconds=bin_seconds, mapper=mapper, watch=watch, full_feed_share=share, state=state
    )
    for rib in rib_paths:
        engine.feed_rib(read_fn(rib, name))
        summary.state_source = "rib"
    return engine


def _first_timestamp(read_fn: ReadFn, paths: list[str], collector: str) -> int | None:
    """The time of the input's first element: the first batch with rows of the first file that
    has one (files the reader refuses are passed over here and reported by the run)."""
    for path in paths:
        try:
            for batch in read_fn(path, collector):
                if batch.num_rows:
                    ts = batch.column("timestamp").cast(pa.int64()).to_numpy()
                    return int(np.min(ts))
        except MrtError:
            continue
    return None


@dataclass(frozen=True, slots=True)
class _FileRead:
    """One input file read to its end: what its ``inputs`` row and the run's problems need."""

    path: str
    digest: str
    nbytes: int
    size: int
    elements: int
    first: int | None
    last: int | None
    problems: list[Problem]


def _read_files(paths: list[str], read_fn: ReadFn, name: str) -> Iterator[pa.RecordBatch | _FileRead]:
    """Every file's non-empty batches, then its :class:`_FileRead` (digest, time span, problems).
    A file the reader refuses (empty, not MRT) is one problem of the run; the next is read."""
    for path in paths:
        digest, nbytes = file_digest(path)
        n, first, last = 0, None, None
        problems: list[Problem] = []
        try:
            reader = read_fn(path, name)
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                span = pc.min_max(batch.column("timestamp").cast(pa.int64()))
                lo, hi = int(span["min"].as_py()), int(span["max"].as_py())
                n += batch.num_rows
                first = lo if first is None else min(first, lo)
                last = hi if last is None else max(last, hi)
                yield batch
            problems = list(getattr(reader, "problems", []))
        except MrtError as exc:
            problems = [_unusable(path, exc)]
        yield _FileRead(path, digest, nbytes, os.path.getsize(path), n, first, last, problems)


def _unusable(path: str, exc: MrtError) -> Problem:
    """A file the reader refused as a whole, as a problem (its own, when it names one)."""
    if exc.problem is not None:
        return exc.problem
    cause = str(exc).removeprefix(f"{os.path.basename(path)}: ").removeprefix(f"{path}: ")
    return Problem(path, 0, -1, 0, 0, cause)


def _process(
    run: _Run,
    engine: SignalEngine,
    paths: list[str],
    done_before: set[str],
    read_fn: ReadFn,
    name: str,
    progress: ProgressFn | None,
) -> pa.Table:
    """Feed every file to the engine (closed bins to ``run``); returns the ``inputs`` rows.

    The files are read (hashed, decoded) a few batches ahead on a second thread
    (:func:`~outagewatch.sources.read_ahead.read_ahead`): the reader and the engine's core
    both release the GIL, so on two cores reading overlaps with the signals. Runs while the
    bin writer owns the connection: it must not touch ``run.con``."""
    total, done = sum(os.path.getsize(p) for p in paths), 0
    input_rows = []
    for item in read_ahead(_read_files(paths, read_fn, name)):
        if isinstance(item, pa.RecordBatch):
            run.take(engine.feed(item))
            continue
        if item.digest in done_before:
            run.summary.already_ingested.append(item.path)
        run.problem_rows.extend(item.problems)
        run.summary.elements += item.elements
        input_rows.append(
            (
                item.path,
                name,
                item.digest,
                item.nbytes,
                item.first,
                item.last,
                item.elements,
                run.summary.run_id,
            )
        )
        done += item.size
        if progress is not None:
            progress(done, total)
    run.summary.problems = len(run.problem_rows)
    run.summary.problem_samples = [str(p) for p in run.problem_rows[:5]]
    return _inputs_table(input_rows)


def _inputs_table(rows: list[tuple[Any, ...]]) -> pa.Table:
    ts = pa.timestamp("us", tz="UTC")
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in range(8)]
    return pa.table(
        {
            "source": pa.array(cols[0], pa.string()),
            "collector": pa.array(cols[1], pa.string()),
            "sha256": pa.array(cols[2], pa.string()),
            "bytes": pa.array(cols[3], pa.int64()),
            "first_ts": pa.array(cols[4], pa.int64()).cast(ts),
            "last_ts": pa.array(cols[5], pa.int64()).cast(ts),
            "elements": pa.array(cols[6], pa.int64()),
            "run_id": pa.array(cols[7], pa.string()),
        }
    )


@dataclass(frozen=True, slots=True)
class _FinalTables:
    """What the end of a run stores from the engine: computed from the engine alone."""

    entities: pa.Table
    entity_prefixes: pa.Table
    state: StateSnapshot


def _final_tables(
    engine: SignalEngine,
    as_info: Callable[[Sequence[int]], dict[int, tuple[str | None, str | None]]] | None,
) -> _FinalTables:
    ents, ent_prefixes = entity_tables(engine, as_info)
    return _FinalTables(ents, ent_prefixes, snapshot(engine.state))


def _finish(
    db_path: str | os.PathLike[str],
    run: _Run,
    final: _FinalTables,
    name: str,
    started: datetime,
    t0: float,
    bin_seconds: int,
) -> None:
    con, s = run.con, run.summary
    upsert(con, "entities", final.entities)
    upsert(con, "entity_prefixes", final.entity_prefixes)
    if run.problem_rows:
        probs = problems_table(run.problem_rows)
        run_col = pa.array([s.run_id] * probs.num_rows, pa.string())
        insert(con, "problems", probs.add_column(0, "run_id", run_col))
    if s.last_bin is not None:
        as_of = int(s.last_bin.timestamp() * 1_000_000) + bin_seconds * 1_000_000
        state_files.save(db_path, name, as_of, final.state)
    s.seconds = time.perf_counter() - t0
    details = {
        "collector": name,
        "ribs": s.ribs,
        "state_source": s.state_source,
        "signal_rows": s.signal_rows,
        "bin_seconds": bin_seconds,
        "already_ingested": s.already_ingested,
    }
    write_run(
        con,
        RunRecord(
            s.run_id,
            "ingest",
            started,
            datetime.now(tz=UTC),
            s.seconds,
            s.ribs + s.inputs,
            s.elements,
            s.problems,
            s.bins,
            "ok",
            details,
        ),
    )
