"""Full-feed peers and per-prefix visibility levels, from the route matrix.

Level codes (per prefix, or per (prefix, origin) pair for MOAS prefixes):
0 not seen by any full-feed peer, 1 seen by ≥ 1, 2 by ≥ 25 %, 3 by ≥ 50 %, 4 by ≥ 75 %, 5 by all
full-feed peers of the prefix's family. ``asn`` levels use distinct full-feed peer ASNs instead
of peers (level 1 is then the same as the ``ff`` level 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from outagewatch.signals import _rollupcore  # type: ignore[attr-defined]

DEFAULT_FULL_FEED_SHARE: Final = 0.75
CHUNK: Final = 1 << 17
"""Prefix columns processed at a time (bounds temporary memory on full tables)."""
I64 = npt.NDArray[np.int64]


def full_feed(table_size: I64, share: float = DEFAULT_FULL_FEED_SHARE) -> npt.NDArray[np.bool_]:
    """Peers whose table holds at least ``share`` of the largest table (and is not empty)."""
    if len(table_size) == 0:
        return np.zeros(0, dtype=bool)
    largest = int(table_size.max())
    return (table_size > 0) & (table_size >= share * largest)


def levels(count: I64, total: int) -> npt.NDArray[np.int8]:
    """Level codes for ``count`` observers out of ``total`` (integer arithmetic, exact)."""
    if total == 0:
        return np.zeros(len(count), dtype=np.int8)
    c4 = count * 4
    lvl = (count > 0).astype(np.int8)
    for q in (1, 2, 3):
        lvl += (count > 0) & (c4 >= q * total)
    lvl += (count > 0) & (count >= total)
    return lvl.astype(np.int8)


@dataclass(frozen=True, slots=True)
class Visibility:
    """Per prefix (index = prefix id) and per (prefix, origin) levels."""

    ff_level: npt.NDArray[np.int8]
    asn_level: npt.NDArray[np.int8]
    pair_prefix: I64  # (prefix, origin) pairs with ≥ 1 full-feed route
    pair_origin: npt.NDArray[np.uint32]
    pair_ff_level: npt.NDArray[np.int8]
    pair_asn_level: npt.NDArray[np.int8]
    ff_rows: dict[int, I64]  # full-feed peer ids per family
    pair_as: I64  # AS entity id of each pair's origin (-1: unknown)


def compute(
    routes: npt.NDArray[np.uint32],
    prefix_afi: npt.NDArray[np.uint8],
    path_origin: npt.NDArray[np.uint32],
    peer_asn: npt.NDArray[np.uint32],
    ff: dict[int, npt.NDArray[np.bool_]],
    as_of: Callable[[npt.NDArray[np.uint32]], I64],
) -> Visibility:
    """Visibility levels of every prefix, and of every (prefix, origin) pair (``as_of``: AS entity
    ids of origin ASNs)."""
    n_pfx = routes.shape[1]
    ff_level = np.zeros(n_pfx, dtype=np.int8)
    asn_level = np.zeros(n_pfx, dtype=np.int8)
    ff_rows = {afi: np.flatnonzero(ff[afi]) for afi in (4, 6)}
    pairs = _levels_of(routes, path_origin, peer_asn, ff_rows, prefix_afi, None, ff_level, asn_level)
    joined = _joined(pairs)
    return Visibility(ff_level, asn_level, *joined, ff_rows, as_of(joined[1]))


def update(
    prev: Visibility,
    routes: npt.NDArray[np.uint32],
    prefix_afi: npt.NDArray[np.uint8],
    path_origin: npt.NDArray[np.uint32],
    peer_asn: npt.NDArray[np.uint32],
    dirty: I64,
    as_of: Callable[[npt.NDArray[np.uint32]], I64],
) -> tuple[Visibility, I64]:
    """:func:`compute`'s result after only the prefixes ``dirty`` (sorted, unique; every new
    prefix id included) changed routes, the full-feed peers staying the same: their levels and
    pairs are recomputed, everything else is kept. Also returns the positions of ``prev``'s
    pairs that were redone (dropped). The new pairs are ``prev``'s kept pairs, in order, then
    the fresh pairs of ``dirty``: another order than :func:`compute` gives (pairs are a set)."""
    n_pfx = routes.shape[1]
    ff_level = np.zeros(n_pfx, dtype=np.int8)
    asn_level = np.zeros(n_pfx, dtype=np.int8)
    old = len(prev.ff_level)
    ff_level[:old], asn_level[:old] = prev.ff_level, prev.asn_level
    is_dirty = np.zeros(n_pfx, dtype=bool)
    is_dirty[dirty] = True
    keep = ~is_dirty[prev.pair_prefix]
    kept = (
        prev.pair_prefix[keep],
        prev.pair_origin[keep],
        prev.pair_ff_level[keep],
        prev.pair_asn_level[keep],
    )
    pairs = _levels_of(routes, path_origin, peer_asn, prev.ff_rows, prefix_afi, dirty, ff_level, asn_level)
    fresh = _joined(pairs)
    joined = _joined([kept, fresh])
    pair_as = np.concatenate([prev.pair_as[keep], as_of(fresh[1])])  # entity ids never change
    return Visibility(ff_level, asn_level, *joined, prev.ff_rows, pair_as), np.flatnonzero(~keep)


_Pairs = tuple[I64, npt.NDArray[np.uint32], npt.NDArray[np.int8], npt.NDArray[np.int8]]


def _levels_of(
    routes: npt.NDArray[np.uint32],
    path_origin: npt.NDArray[np.uint32],
    peer_asn: npt.NDArray[np.uint32],
    ff_rows: dict[int, I64],
    prefix_afi: npt.NDArray[np.uint8],
    only: I64 | None,
    ff_level: npt.NDArray[np.int8],
    asn_level: npt.NDArray[np.int8],
) -> list[_Pairs]:
    """Levels of the prefixes ``only`` (all when None), written into ff_level/asn_level; their pairs.

    Counts come from one compiled pass over the full-feed rows of the route matrix
    (``_rollupcore.prefix_counts``); only MOAS prefixes (routes with different origins) take
    the matrix of their routes for per-origin counts."""
    pairs: list[_Pairs] = []
    matrix = backing(routes)
    origin = np.ascontiguousarray(path_origin, dtype=np.uint32)
    for afi in (4, 6):
        cols = np.flatnonzero(prefix_afi == afi) if only is None else only[prefix_afi[only] == afi]
        rows = ff_rows[afi]
        if len(cols) == 0 or len(rows) == 0:
            if len(cols):
                ff_level[cols] = 0
                asn_level[cols] = 0
            continue
        asns, asn_of_row = np.unique(peer_asn[rows], return_inverse=True)
        group = np.ascontiguousarray(asn_of_row.reshape(-1), dtype=np.int64)
        for lo in range(0, len(cols), CHUNK):  # bounded temporaries on full tables
            chunk = np.ascontiguousarray(cols[lo : lo + CHUNK], dtype=np.int64)
            count = np.empty(len(chunk), dtype=np.int64)
            asn_count = np.empty(len(chunk), dtype=np.int64)
            omin = np.empty(len(chunk), dtype=np.uint32)
            omax = np.empty(len(chunk), dtype=np.uint32)
            _rollupcore.prefix_counts(
                matrix,
                np.ascontiguousarray(rows, dtype=np.int64),
                group,
                len(asns),
                chunk,
                origin,
                count,
                asn_count,
                omin,
                omax,
            )
            ff_level[chunk] = levels(count, len(rows))
            asn_level[chunk] = levels(asn_count, len(asns))
            pairs.append(
                _pairs(
                    routes, chunk, rows, path_origin, count, omin, omax, ff_level, asn_level, group, len(asns)
                )
            )
    return pairs


def backing(routes: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """The C-contiguous matrix whose top-left corner ``routes`` is (the state's live view of its
    route matrix), or a contiguous copy."""
    if routes.flags.c_contiguous:
        return routes
    base = routes.base
    if (
        isinstance(base, np.ndarray)
        and base.ndim == 2
        and base.flags.c_contiguous
        and base.dtype == routes.dtype
        and routes.strides == base.strides
        and routes.__array_interface__["data"][0] == base.__array_interface__["data"][0]
    ):
        return base
    return np.ascontiguousarray(routes)


def _joined(pairs: list[_Pairs]) -> _Pairs:
    if not pairs:
        return (np.zeros(0, np.int64), np.zeros(0, np.uint32), np.zeros(0, np.int8), np.zeros(0, np.int8))
    pp, po, pf, pa_ = (np.concatenate([p[i] for p in pairs]) for i in range(4))
    return pp, po.astype(np.uint32), pf, pa_


def _pairs(
    routes: npt.NDArray[np.uint32],
    cols: I64,
    rows: I64,
    path_origin: npt.NDArray[np.uint32],
    count: I64,
    omin: npt.NDArray[np.uint32],
    omax: npt.NDArray[np.uint32],
    ff_level: npt.NDArray[np.int8],
    asn_level: npt.NDArray[np.int8],
    asn_of_row: I64,
    n_asns: int,
) -> tuple[I64, npt.NDArray[np.uint32], npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """Levels per (prefix, origin): counts of full-feed peers / peer ASNs whose route has that
    origin. A prefix whose routes share one origin has the prefix's own levels."""
    n_peers = len(rows)
    seen = count > 0
    single = seen & (omin == omax)
    moas = np.flatnonzero(seen & (omin != omax))
    p_pfx: list[I64] = [cols[single]]
    p_org: list[npt.NDArray[np.uint32]] = [omax[single]]
    p_ff: list[npt.NDArray[np.int8]] = [ff_level[cols[single]]]
    p_asn: list[npt.NDArray[np.int8]] = [asn_level[cols[single]]]
    if len(moas):
        sub = routes[np.ix_(rows, cols[moas])]
        present = sub != 0
        origins = path_origin[sub]
        r, c = np.nonzero(present)
        org = origins[r, c].astype(np.int64)
        key = c.astype(np.int64) * (1 << 32) + org
        uk, inv = np.unique(key, return_inverse=True)
        inv = inv.reshape(-1)
        peer_cnt = np.bincount(inv, minlength=len(uk))
        asn_key = np.unique(inv.astype(np.int64) * (n_asns + 1) + asn_of_row[r])
        asn_cnt2 = np.bincount(asn_key // (n_asns + 1), minlength=len(uk))
        p_pfx.append(cols[moas][uk >> 32])
        p_org.append((uk & 0xFFFFFFFF).astype(np.uint32))
        p_ff.append(levels(peer_cnt, n_peers))
        p_asn.append(levels(asn_cnt2, n_asns))
    return np.concatenate(p_pfx), np.concatenate(p_org), np.concatenate(p_ff), np.concatenate(p_asn)
