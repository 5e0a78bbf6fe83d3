"""64-bit keys of paths, prefixes and peers, and a hash index (key → dense id).

The routing state never holds one Python object per prefix, path or route: prefixes and AS
paths are reduced to 64-bit keys here (compiled loops, :mod:`outagewatch.signals._statecore`),
and :class:`HashIndex` maps keys to dense ``int64`` ids through a compiled open-addressing
table (:mod:`outagewatch.signals._hashcore`).
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

from outagewatch.signals import _hashcore, _statecore  # type: ignore[attr-defined]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def path_hashes(
    path_offsets: I64,
    path_values: npt.NDArray[np.uint32],
    seg_offsets: I64,
    seg_values: npt.NDArray[np.uint16],
) -> U64:
    """The 64-bit key of each AS path: an order-sensitive hash of its ASNs combined with one of
    its segment codes (absolute ``offsets``, n + 1 each). Compiled; the definition (SplitMix64
    finaliser over ASN × position terms) is spelled out in NumPy in tests/test_signals_kernels.py."""
    out = np.empty(len(path_offsets) - 1, dtype=np.uint64)
    _statecore.path_hashes(
        np.ascontiguousarray(path_offsets, dtype=np.int64),
        np.ascontiguousarray(path_values, dtype=np.uint32),
        np.ascontiguousarray(seg_offsets, dtype=np.int64),
        np.ascontiguousarray(seg_values, dtype=np.uint16),
        out,
    )
    return out


def prefix_keys(afi: npt.NDArray[np.uint8], addr: npt.NDArray[np.uint8], plen: npt.NDArray[np.uint8]) -> U64:
    """The 64-bit key of each prefix (family, 16 address bytes, length)."""
    out = np.empty(len(afi), dtype=np.uint64)
    _statecore.prefix_keys(
        np.ascontiguousarray(afi, dtype=np.uint8),
        np.ascontiguousarray(plen, dtype=np.uint8),
        np.ascontiguousarray(addr, dtype=np.uint8),
        out,
    )
    return out


def peer_keys(collector_hash: U64, ip: npt.NDArray[np.uint8]) -> U64:
    """The 64-bit key of each (collector, peer address)."""
    out = np.empty(len(collector_hash), dtype=np.uint64)
    _statecore.peer_keys(
        np.ascontiguousarray(collector_hash, dtype=np.uint64), np.ascontiguousarray(ip, dtype=np.uint8), out
    )
    return out


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
