"""Routing-state snapshots beside the store: ``<db>.state/<collector>/<as_of µs>.parquet``.

An ingest run saves the state at the end of its last bin; a later run whose first element is at
or after that time starts from it (a later window extends the series). Re-ingesting an earlier
window picks the newest snapshot at or before *its* start, so results do not depend on what
was ingested after it. The newest ``keep`` snapshots per collector are kept.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_NAME = re.compile(r"^(\d+)\.parquet$")


def state_dir(db_path: str | os.PathLike[str], collector: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", collector)
    return Path(f"{os.fspath(db_path)}.state") / safe


def save(
    db_path: str | os.PathLike[str], collector: str, as_of_us: int, table: pa.Table, keep: int = 4
) -> Path:
    folder = state_dir(db_path, collector)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{as_of_us}.parquet"
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    for old in _snapshots(folder)[:-keep]:
        old[1].unlink(missing_ok=True)
    return path


def load_before(db_path: str | os.PathLike[str], collector: str, at_us: int) -> tuple[int, pa.Table] | None:
    """The newest snapshot taken at or before ``at_us``, with its time."""
    folder = state_dir(db_path, collector)
    if not folder.is_dir():
        return None
    usable = [(t, p) for t, p in _snapshots(folder) if t <= at_us]
    if not usable:
        return None
    t, p = usable[-1]
    return t, pq.read_table(p)


def _snapshots(folder: Path) -> list[tuple[int, Path]]:
    out = []
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)
