"""A stable string hash (collector names in peer keys) and a hash index (uint64 key → dense id).

:class:`HashIndex` maps keys to dense ``int64`` ids through a compiled open-addressing table
(:mod:`outagewatch.signals._hashcore`); the partial algebra groups rows with it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

from outagewatch.signals import _hashcore  # type: ignore[attr-defined]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


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
