"""Append-only NumPy arrays with spare room, for the engine's ever-growing tables.

``np.concatenate([old, new])`` copies the whole table each time a bin adds a few rows; on a
stream that adds prefixes and paths every bin that is a copy of every table per bin. A
:class:`Growable` copies only the new rows, and doubles its buffer when full (amortised O(1)
per row). Its ``view`` is the live part; earlier views stay valid, as rows are never changed
once appended (only added past their end).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa


class Growable:
    """Rows of one dtype (and row shape), appended at the end."""

    __slots__ = ("_buf", "_n")

    def __init__(self, initial: npt.ArrayLike, dtype: npt.DTypeLike) -> None:
        first = np.array(initial, dtype=dtype)
        self._buf = first
        self._n = len(first)

    @property
    def view(self) -> npt.NDArray[Any]:
        return self._buf[: self._n]

    def __len__(self) -> int:
        return self._n

    def append(self, rows: npt.ArrayLike) -> None:
        new = np.asarray(rows, dtype=self._buf.dtype)
        k = len(new)
        if k == 0:
            return
        need = self._n + k
        if need > len(self._buf):
            grown = np.empty((max(need, 2 * len(self._buf), 16), *self._buf.shape[1:]), dtype=self._buf.dtype)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n : need] = new
        self._n = need

    def __getstate__(self) -> npt.NDArray[Any]:
        return self.view.copy()  # the live rows only

    def __setstate__(self, rows: npt.NDArray[Any]) -> None:
        self._buf = rows
        self._n = len(rows)


class GrowableStrings:
    """An append-only Arrow string array: each :meth:`append` copies only the new strings, and
    :attr:`array` wraps the live part without a copy (for dictionaries that grow every bin:
    AS entity names, upstream metric names)."""

    __slots__ = ("_data", "_offsets")

    def __init__(self) -> None:
        self._offsets = Growable([0], np.int32)
        self._data = Growable(np.zeros(0), np.uint8)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def append(self, strings: pa.Array) -> None:
        """Append the strings of a (non-null) Arrow string array."""
        arr = strings.cast(pa.string())
        if arr.null_count:
            raise ValueError("strings must not be null")
        if len(arr) == 0:
            return
        _, off_buf, data_buf = arr.buffers()
        off = np.frombuffer(off_buf, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
        first, last = int(off[0]), int(off[-1])
        end = int(self._offsets.view[-1])
        if end + last - first >= 2**31:
            raise OverflowError("more than 2 GiB of strings")
        self._offsets.append(off[1:] - np.int32(first) + np.int32(end))
        if data_buf is not None and last > first:
            self._data.append(np.frombuffer(data_buf, dtype=np.uint8)[first:last])

    def append_raw(self, offsets: npt.NDArray[np.int32], data: bytes) -> None:
        """Append strings given as n + 1 offsets (from 0) into UTF-8 ``data``."""
        n = len(offsets) - 1
        if n <= 0:
            return
        end = int(self._offsets.view[-1])
        if end + int(offsets[-1]) >= 2**31:
            raise OverflowError("more than 2 GiB of strings")
        self._offsets.append(offsets[1:] + np.int32(end))
        if len(data):
            self._data.append(np.frombuffer(data, dtype=np.uint8))

    @property
    def array(self) -> pa.Array:
        offsets, data = self._offsets.view, self._data.view
        return pa.StringArray.from_buffers(len(self), pa.py_buffer(offsets), pa.py_buffer(data))
