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

from outagewatch.signals.columns import peer_ip_words

U8 = npt.NDArray[np.uint8]


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
        self._tables = {
            4: _ranges([(a, b + 1, c) for a, b, c in v4]),
            6: _ranges([(a / 2.0**80, (b + 1) / 2.0**80, c) for a, b, c in v6 or []]),
        }

    def map_prefixes(
        self, afi: U8, prefix: U8, prefix_len: U8
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_], npt.NDArray[np.float64]]:
        hi, _ = peer_ip_words(prefix)
        out_i, out_c, out_w = [], [], []
        for fam, bits, per_unit in ((4, 32, 256.0), (6, 48, 1.0)):
            sel = np.flatnonzero(afi == fam)
            if len(sel) == 0:
                continue
            start = (hi[sel] >> np.uint64(64 - bits)).astype(np.float64)
            size = np.exp2(bits - prefix_len[sel].astype(np.float64))
            i, c, w = _overlaps(self._tables[fam], start, start + size)
            out_i.append(sel[i])
            out_c.append(c)
            out_w.append(w / per_unit)
        if not out_i:
            return np.zeros(0, np.int64), np.zeros(0, dtype="<U2"), np.zeros(0)
        return np.concatenate(out_i), np.concatenate(out_c), np.concatenate(out_w)


def _ranges(rows: list[tuple[float, float, str]]) -> tuple[npt.NDArray[np.float64], ...]:
    rows = sorted(rows)
    start = np.array([r[0] for r in rows], dtype=np.float64)
    end = np.array([r[1] for r in rows], dtype=np.float64)
    cc = np.array([r[2] for r in rows], dtype="<U2")
    return start, end, cc


def _overlaps(
    table: tuple[npt.NDArray[np.float64], ...], a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_], npt.NDArray[np.float64]]:
    """Half-open [a, b) against sorted, disjoint half-open ranges [start, end)."""
    start, end, cc = table
    i0 = np.searchsorted(end, a, side="right")
    i1 = np.searchsorted(start, b, side="left")
    count = np.maximum(i1 - i0, 0)
    owner = np.repeat(np.arange(len(a)), count)
    rng = np.repeat(i0, count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
    weight = np.minimum(b[owner], end[rng]) - np.maximum(a[owner], start[rng])
    return _group(owner.astype(np.int64), cc[rng], weight)


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
    """Per prefix id: its countries and weights, as growing CSR-like arrays (prefix-sorted)."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self._code_of: dict[str, int] = {}
        self.prefix = np.zeros(0, dtype=np.int64)
        self.country = np.zeros(0, dtype=np.int64)
        self.weight = np.zeros(0, dtype=np.float64)
        self.mapped = 0  # prefix ids < mapped have been looked up
        self._csr: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
        self._holders: dict[int, tuple[tuple[int, int, int], npt.NDArray[np.bool_]]] = {}

    def extend(self, mapper: PrefixMapper | None, afi: U8, prefix: U8, plen: U8) -> None:
        """Map the prefixes with ids ``mapped .. mapped + len(afi)``."""
        base = self.mapped
        self.mapped += len(afi)
        if mapper is None or len(afi) == 0:
            return
        idx, cc, w = mapper.map_prefixes(afi, prefix, plen)
        uniq, inv = np.unique(np.asarray(cc, dtype=str), return_inverse=True)
        lut = np.array([self._code(str(u)) for u in uniq], dtype=np.int64)
        self.prefix = np.concatenate([self.prefix, np.asarray(idx, dtype=np.int64) + base])
        self.country = np.concatenate([self.country, lut[inv.reshape(-1)]])
        self.weight = np.concatenate([self.weight, np.asarray(w, dtype=np.float64)])
        self._csr = None

    def _code(self, cc: str) -> int:
        if cc not in self._code_of:
            self._code_of[cc] = len(self.codes)
            self.codes.append(cc)
        return self._code_of[cc]

    def explode(
        self, prefix_ids: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(position in ``prefix_ids``, country code) for every country each prefix touches."""
        owner, rows = self.rows(prefix_ids)
        return owner, self.country[rows]

    def rows(self, prefix_ids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(position in ``prefix_ids``, row of ``prefix``/``country``/``weight``) for every
        country each prefix touches."""
        counts, starts, order = self._csr_arrays()
        n = counts[prefix_ids]
        owner = np.repeat(np.arange(len(prefix_ids)), n)
        pos = np.repeat(starts[prefix_ids], n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
        return owner.astype(np.int64), order[pos].astype(np.int64)

    def holders(self, family: int, prefix_afi: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
        """Per country code: whether it holds a prefix of the family (cached until rows are added)."""
        key = (family, len(self.prefix), len(self.codes))
        hit = self._holders.get(family)
        if hit is None or hit[0] != key:
            rows = prefix_afi[self.prefix] == family
            hit = (key, np.bincount(self.country[rows], minlength=len(self.codes)) > 0)
            self._holders[family] = hit
        return hit[1]

    def _csr_arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        if self._csr is None or len(self._csr[0]) != self.mapped:
            counts = np.bincount(self.prefix, minlength=self.mapped).astype(np.int64)
            starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            self._csr = counts, starts, np.argsort(self.prefix, kind="stable").astype(np.int64)
        return self._csr
