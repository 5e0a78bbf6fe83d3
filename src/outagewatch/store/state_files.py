"""Routing-state snapshots beside the store: ``<db>.state/<collector>/<as_of µs>/<table>.parquet``.

An ingest run saves the state at the end of its last bin; a later run whose first element is at
or after that time starts from it (a later window extends the series). Re-ingesting an earlier
window picks the newest snapshot at or before *its* start, so results do not depend on what
was ingested after it. The newest ``keep`` snapshots per collector are kept.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from outagewatch.signals.snapshot import TABLES, StateSnapshot

_NAME = re.compile(r"^(\d+)$")


def state_dir(db_path: str | os.PathLike[str], collector: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", collector)
    return Path(f"{os.fspath(db_path)}.state") / safe


def save(
    db_path: str | os.PathLike[str], collector: str, as_of_us: int, snap: StateSnapshot, keep: int = 4
) -> Path:
    folder = state_dir(db_path, collector)
    target = folder / str(as_of_us)
    tmp = folder / f".{as_of_us}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, table in snap.tables().items():
        pq.write_table(table, tmp / f"{name}.parquet", compression="zstd")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    for old in _snapshots(folder)[:-keep]:
        shutil.rmtree(old[1], ignore_errors=True)
    return target


def load_before(
    db_path: str | os.PathLike[str], collector: str, at_us: int
) -> tuple[int, StateSnapshot] | None:
    """The newest snapshot taken at or before ``at_us``, with its time."""
    folder = state_dir(db_path, collector)
    if not folder.is_dir():
        return None
    usable = [(t, p) for t, p in _snapshots(folder) if t <= at_us]
    if not usable:
        return None
    t, p = usable[-1]
    return t, StateSnapshot(**{name: pq.read_table(p / f"{name}.parquet") for name in TABLES})


def _snapshots(folder: Path) -> list[tuple[int, Path]]:
    out = []
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)
