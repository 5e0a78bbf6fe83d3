"""Prefix → country, as the signals need it: exploded (prefix, country, /24-equivalents) arrays.

The signal engine depends only on the :class:`PrefixMapper` protocol. Any object with a
vectorised ``map_prefixes(afi, prefix, prefix_len)`` fits (``outagewatch.enrich`` provides the
real ones); :class:`RangeMapper` is a small built-in implementation over sorted address ranges.

Weights: an IPv4 prefix counts in /24-equivalents (a /22 is 4.0, a /25 is 0.5); an IPv6 prefix
in /48-equivalents. A prefix spanning several countries is split: each country gets the
/24-equivalents of its part.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from outagewatch.signals.growable import Growable

U8 = npt.NDArray[np.uint8]


def _address_words(ip: U8) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The two big-endian 64-bit halves of 16-byte addresses."""
    words = np.ascontiguousarray(ip).view(">u8").reshape(-1, 2).astype(np.uint64)
    return words[:, 0].copy(), words[:, 1].copy()


class PrefixMapper(Protocol):
    """Vectorised prefix → country mapping."""

    def map_prefixes(
        self, afi: U8, prefix: U8, prefix_len: U8
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_], npt.NDArray[np.float64]]:
        """For n prefixes (afi (n,), 16-byte addresses (n, 16), lengths (n,)): exploded rows
        ``(prefix_index, country, weight)`` with weight in /24- (IPv4) or /48-equivalents (IPv6)."""
        ...


class RangeMapper:
    """Country ranges per family: inclusive ``(first, last, country)`` address integers."""

    def __init__(self, v4: list[tuple[int, int, str]], v6: list[tuple[int, int, str]] | None = None) -> None:
        self._v4 = _ranges([(a, b + 1, c) for a, b, c in v4])
        # IPv6 in whole /64s (integers, exact): an IPv6 range is taken to the /64s it touches
        rows6 = sorted((a >> 64, b >> 64, c) for a, b, c in v6 or [])
        self._v6 = (
            np.array([r[0] for r in rows6], dtype=np.uint64),
            np.array([r[1] for r in rows6], dtype=np.uint64),
            np.array([r[2] for r in rows6], dtype="<U2"),
        )

    def map_prefixes(
        self, afi: U8, prefix: U8, prefix_len: U8
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_], npt.NDArray[np.float64]]:
        hi, _ = _address_words(prefix)
        out_i, out_c, out_w = [], [], []
        sel = np.flatnonzero(afi == 4)
        if len(sel):
            start = (hi[sel] >> np.uint64(32)).astype(np.float64)
            i, c, w = _overlaps(self._v4, start, start + np.exp2(32 - prefix_len[sel].astype(np.float64)))
            out_i.append(sel[i])
            out_c.append(c)
            out_w.append(w / 256.0)
        sel = np.flatnonzero(afi == 6)
        if len(sel):
            plen = prefix_len[sel].astype(np.int64)
            first = hi[sel]
            shift = np.minimum(np.maximum(64 - plen, 0), 63).astype(np.uint64)
            span = np.where(plen == 0, np.uint64(2**64 - 1), (np.uint64(1) << shift) - np.uint64(1))
            i, c, n64 = _overlaps_inclusive(self._v6, first, first + span)
            out_i.append(sel[i])
            out_c.append(c)
            # /48-equivalents: 2^16 /64s each; a prefix longer than /64 covers a part of its /64
            out_w.append(n64 / 65536.0 * np.exp2(np.minimum(64 - plen[i], 0).astype(np.float64)))
        if not out_i:
            return np.zeros(0, np.int64), np.zeros(0, dtype="<U2"), np.zeros(0)
        return np.concatenate(out_i), np.concatenate(out_c), np.concatenate(out_w)


def _ranges(
    rows: list[tuple[float, float, str]],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.str_]]:
    rows = sorted(rows)
    start = np.array([r[0] for r in rows], dtype=np.float64)
    end = np.array([r[1] for r in rows], dtype=np.float64)
    cc = np.array([r[2] for r in rows], dtype="<U2")
    return start, end, cc


def _overlaps(
    table: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.str_]],
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_], npt.NDArray[np.float64]]:
    """Half-open [a, b) against sorted, disjoint half-open ranges [start, end)."""
    start, end, cc = table
    i0 = np.searchsorted(end, a, side="right")
    i1 = np.searchsorted(start, b, side="left")
    owner, rng = _runs(i0, np.maximum(i1 - i0, 0))
    weight = np.minimum(b[owner], end[rng]) - np.maximum(a[owner], start[rng])
    return _group(owner, cc[rng], weight)


def _runs(first: npt.ArrayLike, count: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For runs ``first[j] .. first[j] + count[j] - 1``: each position's run j, and the position."""
    first, count = np.asarray(first, dtype=np.int64), np.asarray(count, dtype=np.int64)
    owner = np.repeat(np.arange(len(count), dtype=np.int64), count)
    pos = np.repeat(first, count) + (
        np.arange(int(count.sum()), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    )
    return owner, pos


def _overlaps_inclusive(
    table: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.str_]],
    a: npt.NDArray[np.uint64],
    b: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_], npt.NDArray[np.float64]]:
    """Inclusive integer [a, b] against sorted, disjoint inclusive ranges: the count of
    shared integers (exact in uint64) per (query, country)."""
    start, end, cc = table
    i0 = np.searchsorted(end, a, side="left")
    i1 = np.searchsorted(start, b, side="right")
    owner, rng = _runs(i0, np.maximum(i1.astype(np.int64) - i0.astype(np.int64), 0))
    shared = np.minimum(b[owner], end[rng]) - np.maximum(a[owner], start[rng]) + np.uint64(1)
    return _group(owner, cc[rng], shared.astype(np.float64))


def _group(
    idx: npt.NDArray[np.int64], cc: npt.NDArray[np.str_], weight: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_], npt.NDArray[np.float64]]:
    """Sum the weights of repeated (prefix, country) pairs."""
    if len(idx) == 0:
        return idx, cc, weight
    codes, cinv = np.unique(cc, return_inverse=True)
    key = idx * len(codes) + cinv.reshape(-1)
    uniq, inv = np.unique(key, return_inverse=True)
    sums = np.bincount(inv.reshape(-1), weights=weight).astype(np.float64)
    return (uniq // len(codes)).astype(np.int64), codes[uniq % len(codes)], sums


class CountryIndex:
    """Per prefix id: its countries and weights, as growing arrays (rows appended as prefixes are
    mapped, in prefix id order: ids only grow). The compiled core keeps its own copy of the rows
    (in whole addresses); these are for the store's entity tables."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self._code_of: dict[str, int] = {}
        self._prefix = Growable(np.zeros(0), np.int64)
        self._country = Growable(np.zeros(0), np.int64)
        self._weight = Growable(np.zeros(0), np.float64)
        self.mapped = 0  # prefix ids < mapped have been looked up

    @property
    def prefix(self) -> npt.NDArray[np.int64]:
        """Prefix id of each row."""
        return self._prefix.view

    @property
    def country(self) -> npt.NDArray[np.int64]:
        """Country code index (into ``codes``) of each row."""
        return self._country.view

    @property
    def weight(self) -> npt.NDArray[np.float64]:
        """/24- or /48-equivalents of each row."""
        return self._weight.view

    def extend(
        self, mapper: PrefixMapper | None, afi: U8, prefix: U8, plen: U8
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Map the prefixes with ids ``mapped .. mapped + len(afi)``; returns their rows
        (prefix id, country code index, weight), in prefix id order."""
        base = self.mapped
        self.mapped += len(afi)
        if mapper is None or len(afi) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        got, cc, w = mapper.map_prefixes(afi, prefix, plen)
        idx = np.asarray(got, dtype=np.int64)
        order = np.argsort(idx, kind="stable")
        uniq, inv = np.unique(np.asarray(cc, dtype=str), return_inverse=True)
        lut = np.array([self._code(str(u)) for u in uniq], dtype=np.int64)
        rows = (idx[order] + base, lut[inv.reshape(-1)][order], np.asarray(w, dtype=np.float64)[order])
        self._prefix.append(rows[0])
        self._country.append(rows[1])
        self._weight.append(rows[2])
        return rows

    def _code(self, cc: str) -> int:
        if cc not in self._code_of:
            self._code_of[cc] = len(self.codes)
            self.codes.append(cc)
        return self._code_of[cc]
