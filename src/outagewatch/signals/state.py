"""Routing state per (collector, peer), columnar: a dense peer × prefix matrix of path ids.

``routes[peer, prefix]`` holds the interned path id of the peer's current route to the prefix
(0: no route). Origin and upstream of a route are ``paths.origin[id]`` / ``paths.upstream[id]``.
4 bytes per (peer, prefix) cell: 1.2 M prefixes × 100 peers ≈ 480 MB.

Updates are applied one bin at a time: the dictionaries (prefixes, paths, peers) are vectorised,
and a compiled loop (:mod:`outagewatch.signals._statecore`) writes the updates in sequence
order, giving each the route it replaced, which classifies it. A peer state change away from
Established withdraws all the peer's routes at that point of the sequence; a RIB dump
replaces the state of every peer of its collector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from outagewatch.model.element import KIND_ANNOUNCE, KIND_RIB, KIND_STATE, KIND_WITHDRAW, STATE_ESTABLISHED
from outagewatch.signals import _rollupcore, _statecore  # type: ignore[attr-defined]
from outagewatch.signals.columns import Columns
from outagewatch.signals.growable import GrowableStrings
from outagewatch.signals.hashing import HashIndex
from outagewatch.signals.paths import PathTable
from outagewatch.signals.registry import PeerTable, PrefixTable

I64 = npt.NDArray[np.int64]
MAX_PENDING_CELLS = 5_000_000
"""Changed cells kept for :meth:`RoutingState.take_changes` (24 bytes each); past that, None."""


@dataclass(frozen=True, slots=True)
class Cells:
    """Route cells written by updates, one entry per update in sequence order: path id before and
    after it (0: no route). Summing ``new - old`` per cell telescopes to the net change, as long
    as the cell's peer was not cleared in between (clears are counted apart: :meth:`RoutingState.clears`)."""

    peer: I64
    prefix: I64
    old: npt.NDArray[np.uint32]
    new: npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class Updates:
    """Announcements and withdrawals of one bin, classified (one entry per update)."""

    peer: I64
    prefix: I64
    announce: npt.NDArray[np.bool_]
    duplicate: npt.NDArray[np.bool_]
    path_change: npt.NDArray[np.bool_]
    origin: npt.NDArray[np.uint32]  # new route's origin (A) or withdrawn route's origin (W), 0 unknown
    sessions_down: int

    def __len__(self) -> int:
        return len(self.peer)


class RoutingState:
    """Prefix, peer and path dictionaries plus the route matrix."""

    def __init__(self, peer_capacity: int = 64, prefix_capacity: int = 1 << 18) -> None:
        """The route matrix starts with room for ``peer_capacity`` × ``prefix_capacity`` cells.
        Its zero pages cost no memory until written (the allocator maps them lazily), so a
        generous start saves the copies of growing it (64 peers × 262,144 prefixes: 64 MiB of
        address space, none of it resident until routes arrive)."""
        self.peers = PeerTable()
        self.prefixes = PrefixTable()
        self.paths = PathTable()
        self._routes = np.zeros((peer_capacity, prefix_capacity), dtype=np.uint32)
        self._sizes: I64 | None = None  # per peer: [IPv4, IPv6] routes, kept up to date by apply()
        self.origin_families = np.zeros(0, dtype=np.uint64)  # sorted origin*8 + afi ever announced
        self._origin_seen = HashIndex()  # the same keys, to find new ones without a sort
        self.version = 0  # bumped by every change of routes: equal versions, equal state
        self._as_names = GrowableStrings()
        self.as_index = HashIndex()  # origin ASNs (non-zero) → AS entity id, in the order first seen
        self.rib_version = 0  # bumped by cells set directly (RIB loads, restores), not as updates
        self._clears = np.zeros(0, dtype=np.int64)  # per peer id: times its routes were cleared
        self._pending: list[Cells] | None = []  # cells changed by updates, until take_changes()
        self._pending_n = 0

    @property
    def known_as(self) -> npt.NDArray[np.uint32]:
        """Sorted origin ASNs ever announced (0, unknown, excluded)."""
        asns = (self.origin_families >> np.uint64(3)).astype(np.uint32)  # sorted: keys are sorted
        first = np.ones(len(asns), dtype=bool)
        first[1:] = asns[1:] != asns[:-1]
        out: npt.NDArray[np.uint32] = asns[first & (asns != 0)]
        return out

    def note_origins(self, path: npt.NDArray[np.uint32], prefix: I64) -> None:
        self.add_origin_families(
            self.paths.origin[path].astype(np.uint64) * np.uint64(8) + self.prefixes.afi[prefix]
        )

    def add_origin_families(self, keys: npt.NDArray[np.uint64]) -> None:
        """Record (origin ASN × 8 + afi) keys; origin ASNs not seen before get AS entity ids."""
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        _, first_pos = self._origin_seen.get_or_insert(keys)
        if not len(first_pos):
            return
        new = np.sort(keys[first_pos])  # not in origin_families: it holds the same keys as the index
        fam = self.origin_families
        self.origin_families = np.insert(fam, np.searchsorted(fam, new), new).astype(np.uint64)
        asns = new >> np.uint64(3)
        asns = asns[asns != 0]
        _, first = self.as_index.get_or_insert(asns)
        self._as_names.append(pa.array(asns[first].astype(np.uint32)).cast(pa.string()))

    def as_ids(self, asns: npt.NDArray[np.uint32]) -> I64:
        """AS entity id of each origin ASN (ids in the order ASNs were first seen); -1 unknown."""
        return self.as_index.lookup(asns.astype(np.uint64))

    def as_names(self) -> pa.Array:
        """The AS entity names (ASNs as text), indexed by AS entity id (kept as ids are made)."""
        assert len(self._as_names) == self.as_index.size
        return self._as_names.array

    @property
    def routes(self) -> npt.NDArray[np.uint32]:
        """The live part of the route matrix (peers × prefixes)."""
        return self._routes[: self.peers.size, : self.prefixes.size]

    def ensure_capacity(self) -> None:
        rows, cols = self._routes.shape
        need_r, need_c = self.peers.size, self.prefixes.size
        if need_r <= rows and need_c <= cols:
            return
        new_r = max(rows, need_r if need_r <= rows else max(need_r, rows * 2))
        new_c = max(cols, need_c if need_c <= cols else max(need_c, cols * 2))
        grown = np.zeros((new_r, new_c), dtype=np.uint32)
        grown[:rows, :cols] = self._routes
        self._routes = grown

    def nbytes(self) -> int:
        return int(self._routes.nbytes + self.paths.nbytes() + self.prefixes.addr.nbytes * 2)

    def table_sizes(self) -> tuple[I64, I64]:
        """Per peer: number of IPv4 and IPv6 prefixes with a route (counted incrementally)."""
        n = self.peers.size
        if self._sizes is None or len(self._sizes) < n:
            v4, v6 = self._count_sizes()
            self._sizes = np.zeros((max(n, self._routes.shape[0]), 2), dtype=np.int64)
            self._sizes[:n, 0], self._sizes[:n, 1] = v4, v6
        return self._sizes[:n, 0].copy(), self._sizes[:n, 1].copy()

    def _count_sizes(self) -> tuple[I64, I64]:
        sizes = np.zeros((self.peers.size, 2), dtype=np.int64)
        _rollupcore.row_sizes(self._routes, self.peers.size, self.prefixes.afi, sizes)
        return sizes[:, 0].copy(), sizes[:, 1].copy()

    def set_routes(self, peer: I64, prefix: I64, path: npt.NDArray[np.uint32]) -> None:
        """Set cells directly (RIB rows, snapshots); later entries win."""
        self.ensure_capacity()
        self._routes[peer, prefix] = path
        self.version += 1
        self.rib_version += 1
        self._sizes = None  # recounted on demand (RIB loads and restores are rare)

    def clear_peers(self, peer: I64) -> None:
        self._routes[peer, : self.prefixes.size] = 0  # cells past the live prefixes are all 0
        self.version += 1
        if self._sizes is not None:
            self._sizes[peer[peer < len(self._sizes)]] = 0
        if len(peer):
            self._grow_clears()
            np.add.at(self._clears, peer, 1)

    def _log_changes(self, cells: Cells) -> None:
        if self._pending is None:
            return
        self._pending.append(cells)
        self._pending_n += len(cells.peer)
        if self._pending_n > MAX_PENDING_CELLS:  # nobody is taking them: stop keeping them
            self._pending = None

    def take_changes(self) -> Cells | None:
        """Every route cell that updates changed since the last call (in order; a cell may
        appear more than once), or None when they were too many to keep. Cells set directly
        (RIB loads, restores) and peers cleared are not listed: see ``rib_version`` and
        :meth:`clears`."""
        pending, self._pending, self._pending_n = self._pending, [], 0
        if pending is None:
            return None
        if len(pending) == 1:
            return pending[0]
        return Cells(
            np.concatenate([c.peer for c in pending] or [np.zeros(0, np.int64)]),
            np.concatenate([c.prefix for c in pending] or [np.zeros(0, np.int64)]),
            np.concatenate([c.old for c in pending] or [np.zeros(0, np.uint32)]),
            np.concatenate([c.new for c in pending] or [np.zeros(0, np.uint32)]),
        )

    def clears(self, peer: I64) -> I64:
        """How often each of these peers had all its routes cleared (session down, RIB reload)."""
        out = np.zeros(len(peer), dtype=np.int64)
        known = peer < len(self._clears)
        out[known] = self._clears[peer[known]]
        return out

    def load_rib(self, cols: Columns, *, first: bool) -> None:
        """Apply RIB rows; on the first batch of a dump, clear every peer of its collectors."""
        rib = np.flatnonzero(cols.kind == KIND_RIB)
        if len(rib) == 0:
            return
        peer = self.peers.ids(cols)[rib]
        if first:
            names = set(cols.collector[rib].tolist())
            stale = [i for i, c in enumerate(self.peers.collector) if c in names]
            self.ensure_capacity()
            self.clear_peers(np.array(stale, dtype=np.int64))
        prefix, _ = self.prefixes.ids(cols.afi[rib], cols.prefix[rib], cols.prefix_len[rib])
        path = self.paths.intern(cols, rib)
        self.set_routes(peer, prefix, path)
        self.note_origins(path, prefix)

    def apply(self, cols: Columns) -> Updates:
        """Apply one bin of elements (time-sorted) in sequence and classify its updates."""
        if len(cols):
            self.version += 1
        peer_all = self.peers.ids(cols)
        upd = np.flatnonzero((cols.kind == KIND_ANNOUNCE) | (cols.kind == KIND_WITHDRAW))
        down = np.flatnonzero(
            (cols.kind == KIND_STATE) & (cols.new_state >= 0) & (cols.new_state != STATE_ESTABLISHED)
        )
        prefix, _ = self.prefixes.ids(cols.afi[upd], cols.prefix[upd], cols.prefix_len[upd])
        is_a = cols.kind[upd] == KIND_ANNOUNCE
        path = np.zeros(len(upd), dtype=np.uint32)
        path[is_a] = self.paths.intern(cols, upd[is_a])
        self.note_origins(path[is_a], prefix[is_a])
        self.ensure_capacity()
        self._grow_clears()
        if self._sizes is not None and len(self._sizes) < self.peers.size:
            self._sizes = None  # recounted on demand
        peer = np.ascontiguousarray(peer_all[upd], dtype=np.int64)
        prev = np.empty(len(upd), dtype=np.uint32)
        _statecore.apply(
            self._routes,
            upd,
            peer,
            np.ascontiguousarray(prefix, dtype=np.int64),
            path,
            down,
            np.ascontiguousarray(peer_all[down], dtype=np.int64),
            self.prefixes.afi,
            self._sizes,
            self._clears,
            prev,
        )
        self._log_changes(Cells(peer, prefix, prev, path))
        present = prev != 0
        dup = present & (prev == path) & is_a
        change = present & (prev != path) & is_a
        origin = self.paths.origin[np.where(is_a, path, prev)]  # new route's, or the withdrawn one's
        return Updates(peer, prefix, is_a, dup, change, origin, len(down))

    def _grow_clears(self) -> None:
        if len(self._clears) < self.peers.size:
            grown = np.zeros(self.peers.size, dtype=np.int64)
            grown[: len(self._clears)] = self._clears
            self._clears = grown
