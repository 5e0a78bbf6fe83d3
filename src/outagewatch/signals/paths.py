"""Interned AS paths: path hash → dense path id, with each path's origin and upstream AS.

Rules (documented in docs/signals.md):

- **Origin.** A path ending in an AS_SEQUENCE has the last ASN as origin. A path ending in an
  AS_SET with one distinct member has that member as origin. A path ending in an AS_SET with
  several members has as origin the last ASN of the AS_SEQUENCE before the set (the AS that
  aggregated the routes); without such an ASN the origin is unknown (0). Confederation
  segments are dropped first (they are local to a confederation).
- **Upstream.** After collapsing prepending (consecutive repeats), the ASN immediately before
  the origin; 0 (none) when the path holds only the origin.

Path id 0 means "no route"; real paths get ids from 1.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from outagewatch.model.element import SEG_AS_SEQUENCE, SEG_AS_SET, SEG_CONFED_SEQUENCE, SEG_CONFED_SET
from outagewatch.signals.columns import Columns
from outagewatch.signals.growable import Growable
from outagewatch.signals.hashing import HashIndex

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]


class PathTable:
    """Growing arrays indexed by path id: hash, origin ASN, upstream ASN, and the dense id of its
    (origin, upstream) pair (what the per-bin upstream roll-up counts by)."""

    def __init__(self) -> None:
        self.index = HashIndex()
        self.up_index = HashIndex()  # upstream ASN → dense upstream id
        self.pair_index = HashIndex()  # (origin, upstream) → dense pair id
        self._hash = Growable([0], np.uint64)
        self._origin = Growable([0], np.uint32)
        self._upstream = Growable([0], np.uint32)
        self._up_id = Growable([0], np.int64)  # per path
        self._pair_id = Growable([0], np.int64)  # per path
        self._up_asn = Growable([], np.uint32)  # per upstream id
        self._pair_origin = Growable([], np.uint32)  # per pair id
        self._pair_up_id = Growable([], np.int64)  # per pair id

    @property
    def size(self) -> int:
        return len(self._hash)

    @property
    def hash(self) -> npt.NDArray[np.uint64]:
        return self._hash.view

    @property
    def origin(self) -> U32:
        return self._origin.view

    @property
    def upstream(self) -> U32:
        return self._upstream.view

    @property
    def up_id(self) -> I64:
        return self._up_id.view

    @property
    def pair_id(self) -> I64:
        return self._pair_id.view

    @property
    def up_asn(self) -> U32:
        return self._up_asn.view

    @property
    def pair_origin(self) -> U32:
        return self._pair_origin.view

    @property
    def pair_up_id(self) -> I64:
        return self._pair_up_id.view

    def intern(self, cols: Columns, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        """Path ids (≥ 1) of the AS paths of ``rows`` in ``cols``, interning new ones."""
        ids, new_pos = self.index.get_or_insert(cols.path_hash[rows])
        if len(new_pos):
            origin, upstream = origin_upstream(cols, rows[new_pos])
            self._append(cols.path_hash[rows[new_pos]], origin, upstream)
        return (ids + 1).astype(np.uint32)

    def intern_facts(
        self, hashes: npt.NDArray[np.uint64], origin: U32, upstream: U32
    ) -> npt.NDArray[np.uint32]:
        """Path ids for paths known only by hash and facts (restoring a snapshot)."""
        ids, new_pos = self.index.get_or_insert(hashes)
        if len(new_pos):
            self._append(hashes[new_pos], origin[new_pos], upstream[new_pos])
        return (ids + 1).astype(np.uint32)

    def _append(self, hashes: npt.NDArray[np.uint64], origin: U32, upstream: U32) -> None:
        self._hash.append(hashes)
        self._origin.append(origin)
        self._upstream.append(upstream)
        up_ids, new_pos = self.up_index.get_or_insert(upstream.astype(np.uint64))
        self._up_asn.append(upstream[new_pos])
        self._up_id.append(up_ids)
        pair_key = (origin.astype(np.uint64) << np.uint64(32)) | upstream.astype(np.uint64)
        pair_ids, new_pair = self.pair_index.get_or_insert(pair_key)
        self._pair_origin.append(origin[new_pair])
        self._pair_up_id.append(up_ids[new_pair])
        self._pair_id.append(pair_ids)

    def nbytes(self) -> int:
        return int(self.hash.nbytes + self.origin.nbytes + self.upstream.nbytes + self.index.nbytes())


def origin_upstream(cols: Columns, rows: npt.NDArray[np.int64]) -> tuple[U32, U32]:
    """Origin and upstream ASN of the paths of ``rows`` (vectorised for plain AS_SEQUENCE paths)."""
    p_start, p_end = cols.path_offsets[:-1][rows], cols.path_offsets[1:][rows]
    s_start, s_end = cols.seg_offsets[:-1][rows], cols.seg_offsets[1:][rows]
    seg_types = (cols.seg_values.astype(np.int64) >> 8) != SEG_AS_SEQUENCE
    odd_cum = np.concatenate([[0], np.cumsum(seg_types)])
    plain = ((odd_cum[s_end] - odd_cum[s_start]) == 0) & (p_end > p_start)
    origin = np.zeros(len(rows), dtype=np.uint32)
    upstream = np.zeros(len(rows), dtype=np.uint32)
    idx = np.flatnonzero(plain)
    if len(idx):
        o, u = _plain_origin_upstream(cols.path_values, p_start[idx], p_end[idx])
        origin[idx], upstream[idx] = o, u
    for i in np.flatnonzero(~plain & (p_end > p_start)):  # rare: AS_SET / confederation paths
        asns = cols.path_values[p_start[i] : p_end[i]].tolist()
        segs = cols.seg_values[s_start[i] : s_end[i]].tolist()
        origin[i], upstream[i] = origin_upstream_slow(asns, segs)
    return origin, upstream


def _plain_origin_upstream(
    values: U32, start: npt.NDArray[np.int64], end: npt.NDArray[np.int64]
) -> tuple[U32, U32]:
    lengths = end - start
    flat = np.repeat(start, lengths) + (
        np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    vals = values[flat]
    origin = values[end - 1]
    differs = vals != np.repeat(origin, lengths)
    pos = np.where(differs, np.arange(len(vals), dtype=np.int64), -1)
    starts = np.cumsum(lengths) - lengths
    last = np.maximum.reduceat(pos, starts)
    upstream = np.where(last >= 0, vals[np.maximum(last, 0)], 0).astype(np.uint32)
    return origin.astype(np.uint32), upstream


def origin_upstream_slow(asns: list[int], segs: list[int]) -> tuple[int, int]:
    """Origin and upstream of one path with AS_SET or confederation segments."""
    seq: list[int] = []
    final_set: list[int] = []
    pos = 0
    for seg in segs:
        kind, count = seg >> 8, seg & 0xFF
        members = asns[pos : pos + count]
        pos += count
        if kind in (SEG_CONFED_SEQUENCE, SEG_CONFED_SET):
            continue
        if kind == SEG_AS_SET:
            final_set = members
            continue
        if final_set:  # a set followed by more sequence: treat the set as one hop
            seq.extend(sorted(set(final_set))[:1])
            final_set = []
        seq.extend(members)
    if final_set:
        distinct = sorted(set(final_set))
        if len(distinct) == 1:
            seq.append(distinct[0])
    collapsed = [a for i, a in enumerate(seq) if i == 0 or a != seq[i - 1]]
    if not collapsed:
        return 0, 0
    return collapsed[-1], collapsed[-2] if len(collapsed) > 1 else 0
