"""Closed bins → the store, written on a thread of their own while the engine computes on.

An ingest spends most of its time in two places that need not wait for each other: the
signal engine (Python, NumPy, Arrow) and DuckDB's bulk inserts of the bins it closed. DuckDB
releases the GIL while it writes (a Python loop kept 95 % of its speed beside a 36 M-row
insert), so one writer thread turns the sum of the two into about the larger of the two.

The writer owns the connection between :meth:`BinWriter.take` and :meth:`BinWriter.close`:
the caller must not use it in between. Bins are written in the order they are taken, in
batches of ``batch`` bins; at most ``depth`` batches wait, so a fast engine blocks instead of
holding the whole run in memory. An error in the writer is raised again, with its own
traceback, by the next ``take`` or by ``close``; batches after it are dropped, never written
half (the caller rolls the transaction back).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from outagewatch.signals.engine import ClosedBin
from outagewatch.store.changes import write_changes
from outagewatch.store.writes import upsert


def bins_table(bins: Sequence[ClosedBin]) -> pa.Table:
    """The ``bins`` rows of closed bins: the grid of bins written, with their element counts."""
    starts = pa.array([b.bin_start_us for b in bins], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            "bin_start": starts,
            "bin_seconds": pa.array([b.bin_seconds for b in bins], pa.int32()),
            "complete": pa.array([True] * len(bins)),
            "elements": pa.array([b.elements for b in bins], pa.int64()),
            "note": pa.array(
                ["no elements (gap filled)" if b.elements == 0 else None for b in bins], pa.string()
            ),
        }
    )


def write_bins(con: Any, bins: Sequence[ClosedBin]) -> int:
    """Change-coded signals (replacing the same bins), peers and bin rows of ``bins``; returns
    the signal change rows stored. A keyframe bin (an engine's first) ends the values it does
    not mention (:func:`outagewatch.store.changes.write_changes`)."""
    if not bins:
        return 0
    secs = {b.bin_seconds for b in bins}
    if len(secs) != 1:
        raise ValueError(f"bins of one width expected, got {sorted(secs)}")
    rows = write_changes(
        con,
        pa.concat_tables([b.signals for b in bins]),
        bin_seconds=secs.pop(),
        bins=[b.bin_start_us for b in bins],
        keyframes=[b.bin_start_us for b in bins if b.keyframe],
    )
    upsert(con, "peers", pa.concat_tables([b.peers for b in bins]))
    upsert(con, "bins", bins_table(bins))
    return rows


class BinWriter:
    """Writes closed bins into the store behind the caller's back (see the module text).

    ``threaded=False`` writes each batch in the caller's thread, in the same order: the same
    rows, for callers that must keep one thread.
    """

    def __init__(self, con: Any, *, batch: int = 24, depth: int = 2, threaded: bool = True) -> None:
        if batch < 1 or depth < 1:
            raise ValueError(f"batch and depth must be at least 1, not {batch} and {depth}")
        self._con, self._batch = con, batch
        self._pending: list[ClosedBin] = []
        self._error: BaseException | None = None
        self._closed = False
        self.signal_rows = 0
        self._queue: queue.Queue[list[ClosedBin] | None] = queue.Queue(maxsize=depth)
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._loop, name="outagewatch-bin-writer", daemon=True)
            self._thread.start()

    def take(self, closed: Sequence[ClosedBin]) -> None:
        """Queue closed bins; a full batch goes to the writer (blocking while ``depth`` wait)."""
        self._check_open()
        self._pending.extend(closed)
        if len(self._pending) >= self._batch:
            self._send()

    def close(self) -> int:
        """Write what is pending, wait for the writer, and return the signal change rows stored.

        Raises the writer's error, if it had one. The connection is the caller's again."""
        if not self._closed:
            self._check_open()
            self._send()
            self._stop()
        self._raise()
        return self.signal_rows

    def abort(self) -> None:
        """Stop without writing what is pending and without raising (the caller rolls back)."""
        self._pending = []
        if not self._closed:
            self._stop()

    def _send(self) -> None:
        if not self._pending:
            return
        bins, self._pending = self._pending, []
        if self._thread is None:
            self.signal_rows += write_bins(self._con, bins)
        else:
            self._queue.put(bins)

    def _stop(self) -> None:
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()

    def _loop(self) -> None:
        while (bins := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the run fails, later batches are not written
            try:
                self.signal_rows += write_bins(self._con, bins)
            except BaseException as exc:  # re-raised in the caller's thread
                self._error = exc

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("BinWriter is closed")
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
