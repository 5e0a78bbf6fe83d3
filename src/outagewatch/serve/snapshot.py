"""Reading the store without blocking ingest: a private snapshot refreshed when the file changes.

DuckDB allows one read-write process *or* any number of read-only processes on a database
file. A server that kept the store open (even read-only) would stop ``ingest``/``watch`` from
opening it for writing. So the server never keeps the live file open: when the file (or its
WAL) changes, it takes the shared read lock for just as long as a file copy lasts, copies the
database (and WAL) into a private directory, releases the lock and serves every request from a
read-only connection on the copy (one cursor per request, so threads never share a cursor).

If a writer holds the file at refresh time the server keeps answering from the previous
snapshot and retries later; :meth:`Snapshot.info` reports the snapshot's age and the last
refresh error (shown by ``/api/v1/health``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from outagewatch.store.db import StoreError, connect


@dataclass
class _Current:
    con: duckdb.DuckDBPyConnection
    path: Path
    stamp: tuple[int, ...]
    taken_at: float


class Snapshot:
    """Read-only access to the store at ``source`` through refreshed private copies."""

    def __init__(self, source: str | os.PathLike[str], refresh_seconds: float = 2.0) -> None:
        self.source = Path(source)
        self.refresh_seconds = refresh_seconds
        self._dir = Path(tempfile.mkdtemp(prefix="outagewatch-serve-"))
        self._lock = threading.Lock()
        self._current: _Current | None = None
        self._retired: list[_Current] = []
        self._checked_at = 0.0
        self._generation = 0
        self.last_error: str | None = None

    def _stamp(self) -> tuple[int, ...]:
        parts: list[int] = []
        for path in (self.source, Path(f"{self.source}.wal")):
            try:
                st = path.stat()
                parts += [st.st_mtime_ns, st.st_size]
            except FileNotFoundError:
                parts += [0, 0]
        return tuple(parts)

    def _take(self, stamp: tuple[int, ...]) -> _Current:
        self._generation += 1
        target = self._dir / f"snapshot-{self._generation}.duckdb"
        live = connect(self.source, read_only=True)  # shared lock: no writer can start mid-copy
        try:
            shutil.copyfile(self.source, target)
            wal = Path(f"{self.source}.wal")
            if wal.exists():
                shutil.copyfile(wal, Path(f"{target}.wal"))
        finally:
            live.close()
        return _Current(connect(target, read_only=True), target, stamp, time.time())

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._current is not None and now - self._checked_at < self.refresh_seconds:
            return
        self._checked_at = now
        stamp = self._stamp()
        if self._current is not None and stamp == self._current.stamp:
            return
        try:
            fresh = self._take(stamp)
        except StoreError as exc:
            self.last_error = str(exc)
            return
        self.last_error = None
        if self._current is not None:
            self._retired.append(self._current)
        self._current = fresh
        self._drop_retired(keep=1)

    def _drop_retired(self, keep: int) -> None:
        while len(self._retired) > keep:
            old = self._retired.pop(0)
            old.con.close()
            for path in (old.path, Path(f"{old.path}.wal")):
                path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor on the current snapshot (refreshing it first when the store changed)."""
        with self._lock:
            self._refresh()
            current = self._current
            if current is None:
                raise StoreError(self.last_error or f"{self.source}: store not readable yet")
            cur = current.con.cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            yield cur
        finally:
            cur.close()

    def info(self) -> dict[str, Any]:
        current = self._current
        return {
            "source": str(self.source),
            "taken_at": None if current is None else current.taken_at,
            "age_seconds": None if current is None else round(time.time() - current.taken_at, 3),
            "refresh_seconds": self.refresh_seconds,
            "last_error": self.last_error,
        }

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._retired.append(self._current)
                self._current = None
            self._drop_retired(keep=0)
        shutil.rmtree(self._dir, ignore_errors=True)
