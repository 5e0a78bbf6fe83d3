"""Watcher checkpoints on disk, written atomically after every closed bin.

A checkpoint is a folder holding ``checkpoint.json`` (bin width, last closed bin, gaps,
counters) and the files it refers to: the routing state, ``state-<seq>.<table>.arrow`` (Arrow
IPC files of the tables of :func:`outagewatch.signals.snapshot.snapshot`), and opaque blobs
such as the pickled detector states, ``state-<seq>.<name>.bin``. The state
files are written first under new names, then the JSON is replaced with ``os.replace`` (atomic
on POSIX), then older state files are removed; a crash at any point leaves the previous or the
new checkpoint whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

VERSION = 1
NAME = "checkpoint.json"


@dataclass
class Checkpoint:
    bin_seconds: int
    last_closed_us: int | None = None  # start of the last closed bin
    gaps: list[list[int | None]] = field(default_factory=list)  # [start_us, end_us or None]
    blobs: list[str] = field(default_factory=list)
    counters: dict[str, float] = field(default_factory=dict)
    seq: int = 0
    state_file: str | None = None
    state_tables: list[str] = field(default_factory=list)


def save(folder: Path, cp: Checkpoint, state: Mapping[str, pa.Table], blobs: Mapping[str, bytes]) -> Path:
    """Write the state tables and blobs, then atomically publish the checkpoint naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    cp.seq += 1
    prefix = f"state-{cp.seq}"
    for name, table in state.items():
        _write_atomic(folder / f"{prefix}.{name}.arrow", lambda fh, t=table: _write_ipc(fh, t))
    for name, blob in blobs.items():
        _write_atomic(folder / f"{prefix}.{name}.bin", lambda fh, b=blob: fh.write(b))
    cp.state_file = prefix
    cp.blobs = sorted(blobs)
    cp.state_tables = sorted(state)
    doc = {"version": VERSION, **cp.__dict__}
    body = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    _write_atomic(folder / NAME, lambda fh: fh.write(body))
    for old in [*folder.glob("state-*.arrow"), *folder.glob("state-*.bin")]:
        if not old.name.startswith(prefix + "."):
            old.unlink(missing_ok=True)
    return folder / NAME


def load(folder: Path) -> tuple[Checkpoint, dict[str, pa.Table], dict[str, bytes]] | None:
    """The last published checkpoint, its state tables and blobs; None when there is none."""
    path = folder / NAME
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.pop("version", None) != VERSION:
        raise ValueError(f"{path}: unsupported checkpoint version")
    cp = Checkpoint(**doc)
    tables = {}
    for name in cp.state_tables:
        with pa.memory_map(str(folder / f"{cp.state_file}.{name}.arrow")) as src:
            tables[name] = ipc.open_file(src).read_all()
    blobs = {name: (folder / f"{cp.state_file}.{name}.bin").read_bytes() for name in cp.blobs}
    return cp, tables, blobs


def _write_ipc(fh: Any, table: pa.Table) -> None:
    with ipc.new_file(fh, table.schema) as writer:
        writer.write_table(table)


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
