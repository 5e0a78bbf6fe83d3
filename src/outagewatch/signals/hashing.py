"""Vectorised 64-bit hashing and a sorted hash index (key → dense id), all in NumPy.

The routing state never holds one Python object per prefix, path or route: prefixes and AS
paths are reduced to 64-bit keys here, and :class:`HashIndex` maps keys to dense ``int64``
ids through a compiled open-addressing table.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

from outagewatch.signals import _hashcore  # type: ignore[attr-defined]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)


def mix64(x: npt.NDArray[np.uint64]) -> U64:
    """SplitMix64 finaliser, element-wise (wrapping uint64 arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return np.asarray(z ^ (z >> _S31), dtype=np.uint64)


def combine(*parts: npt.NDArray[np.uint64]) -> U64:
    """An order-sensitive hash of several equally long uint64 columns."""
    h = np.zeros(len(parts[0]), dtype=np.uint64)
    for i, part in enumerate(parts):
        h = mix64(h ^ mix64(part.astype(np.uint64, copy=False) + np.uint64(i + 1)))
    return h


def list_hash(offsets: I64, values: npt.NDArray[np.uint64]) -> U64:
    """Hash of each list (order-sensitive) given absolute ``offsets`` (n+1) into ``values``."""
    start, end = offsets[:-1], offsets[1:]
    base = int(offsets[0]) if len(offsets) else 0
    total = int(offsets[-1]) - base if len(offsets) else 0
    lengths = end - start
    if total == 0:
        return mix64(lengths.astype(np.uint64))
    pos = np.arange(total, dtype=np.int64) - np.repeat(start - base, lengths)
    vals = values[base : base + total].astype(np.uint64)
    per = mix64(vals * _M1 + pos.astype(np.uint64) * _M2 + np.uint64(1))
    cum = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(per, dtype=np.uint64)])
    sums = cum[end - base] - cum[start - base]
    return mix64(sums ^ mix64(lengths.astype(np.uint64)))


def string_hash(text: str) -> int:
    """A stable 64-bit hash of a string (for collector names and the like)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class HashIndex:
    """A growing map from uint64 keys to dense ids 0, 1, 2, … in insertion order (a compiled
    open-addressing table, :mod:`outagewatch.signals._hashcore`; picklable)."""

    __slots__ = ("_core",)

    def __init__(self) -> None:
        self._core = _hashcore.Index()

    @property
    def size(self) -> int:
        return int(self._core.size)

    def lookup(self, keys: U64) -> I64:
        """The id of each key, -1 where the key is unknown."""
        k = np.ascontiguousarray(keys, dtype=np.uint64)
        out = np.empty(len(k), dtype=np.int64)
        self._core.lookup(k, out)
        return out

    def get_or_insert(self, keys: U64) -> tuple[I64, I64]:
        """Ids for all keys, inserting unknown ones (in order of first occurrence); also returns
        the positions of those first occurrences."""
        k = np.ascontiguousarray(keys, dtype=np.uint64)
        ids = np.empty(len(k), dtype=np.int64)
        new = np.empty(len(k), dtype=np.int64)
        added = self._core.get_or_insert(k, ids, new)
        return ids, new[:added].copy()

    def keys(self) -> U64:
        """The keys in id order."""
        return np.frombuffer(self._core.keys(), dtype=np.uint64).copy()

    def nbytes(self) -> int:
        return int(self._core.nbytes)

    def __getstate__(self) -> U64:
        return self.keys()

    def __setstate__(self, keys: U64) -> None:
        self._core = _hashcore.Index()
        self.get_or_insert(np.asarray(keys, dtype=np.uint64))
