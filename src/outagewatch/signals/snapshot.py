"""Routing state ↔ a :class:`StateSnapshot`: five small, normalised Arrow tables.

Used to carry state from one ingest window to the next and to start a (collector, time slice)
task from the state at its start. ``routes`` holds one row per (peer, prefix) route as three
integers; peers, prefixes (including prefixes without a route now), paths (by 64-bit hash with
origin and upstream) and known (origin, family) pairs are listed once. Keeping idle prefixes
and origins means a task started from a snapshot reports the same entities (with zeros) as a
run that saw the history itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from outagewatch.signals.state import RoutingState

TABLES: Final = ("peers", "prefixes", "paths", "routes", "origins")
PATH_HASH_VERSION: Final = b"2"
"""The AS path key of this version (paths.hash). Snapshots written before had another key: their
paths are restored with their origin and upstream all the same, but the next announcement of
such a route's path counts as a path change rather than a duplicate (paths are told apart by key)."""


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    peers: pa.Table  # key, collector, ip, asn, afi (row = peer id)
    prefixes: pa.Table  # afi, addr (16 bytes), plen (row = prefix id)
    paths: pa.Table  # id, hash, origin, upstream
    routes: pa.Table  # peer, prefix, path
    origins: pa.Table  # key = origin * 8 + afi

    def tables(self) -> dict[str, pa.Table]:
        return {name: getattr(self, name) for name in TABLES}

    @property
    def num_routes(self) -> int:
        return int(self.routes.num_rows)


def _fixed(addr: npt.NDArray[np.uint8]) -> pa.Array:
    buf = pa.py_buffer(np.ascontiguousarray(addr, dtype=np.uint8).tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(addr), [None, buf])


def snapshot(state: RoutingState) -> StateSnapshot:
    """The whole state (routes listed peer by peer from the core's per-peer route bitmaps)."""
    peers, pfx, paths = state.peers, state.prefixes, state.paths
    r_peer, r_pfx, route_path = state.route_table()
    used = np.unique(route_path)
    path_hash, path_origin, path_up = paths.hash, paths.origin, paths.upstream
    return StateSnapshot(
        peers=pa.table(
            {
                "key": pa.array(peers.key),
                "collector": pa.array(peers.collector, pa.string()),
                "ip": pa.array(peers.ip, pa.string()),
                "asn": pa.array(peers.asn),
                "afi": pa.array(peers.afi),
            }
        ),
        prefixes=pa.table({"afi": pa.array(pfx.afi), "addr": _fixed(pfx.addr), "plen": pa.array(pfx.plen)}),
        paths=pa.table(
            {
                "id": pa.array(used.astype(np.uint32)),
                "hash": pa.array(path_hash[used]),
                "origin": pa.array(path_origin[used]),
                "upstream": pa.array(path_up[used]),
            },
            metadata={b"path_hash": PATH_HASH_VERSION},
        ),
        routes=pa.table(
            {
                "peer": pa.array(r_peer.astype(np.uint32)),
                "prefix": pa.array(r_pfx.astype(np.uint32)),
                "path": pa.array(route_path),
            }
        ),
        origins=pa.table({"key": pa.array(state.origin_families)}),
    )


def _np(table: pa.Table, col: str) -> npt.NDArray[np.generic]:
    arr = table[col].combine_chunks() if table.num_rows else pa.array([], table.schema.field(col).type)
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def restore(snap: StateSnapshot, state: RoutingState | None = None) -> RoutingState:
    """A routing state holding the snapshot's routes and known entities."""
    st = state or RoutingState()
    peer_map = np.array(
        [
            st.peers.add_named(str(c), str(i), int(a), int(f))  # keys made afresh: older ones differ
            for c, i, a, f in zip(
                snap.peers["collector"].to_pylist(),
                snap.peers["ip"].to_pylist(),
                _np(snap.peers, "asn").tolist(),
                _np(snap.peers, "afi").tolist(),
                strict=True,
            )
        ],
        dtype=np.int64,
    )
    n_pfx = snap.prefixes.num_rows
    addr = np.zeros((0, 16), np.uint8)
    if n_pfx:
        arr = snap.prefixes["addr"].combine_chunks()
        addr = np.frombuffer(arr.buffers()[1], dtype=np.uint8)[arr.offset * 16 : (arr.offset + n_pfx) * 16]
        addr = addr.reshape(-1, 16)
    afi = _np(snap.prefixes, "afi").astype(np.uint8)
    pfx_map, _ = st.prefixes.ids(afi, addr, _np(snap.prefixes, "plen").astype(np.uint8))
    path_ids = st.paths.intern_facts(
        _np(snap.paths, "hash").astype(np.uint64),
        _np(snap.paths, "origin").astype(np.uint32),
        _np(snap.paths, "upstream").astype(np.uint32),
    )
    old_ids = _np(snap.paths, "id").astype(np.int64)
    path_map = np.zeros(int(old_ids.max()) + 1 if len(old_ids) else 1, dtype=np.uint32)
    path_map[old_ids] = path_ids
    peer = peer_map[_np(snap.routes, "peer").astype(np.int64)]
    prefix = pfx_map[_np(snap.routes, "prefix").astype(np.int64)]
    st.set_routes(peer, prefix, path_map[_np(snap.routes, "path").astype(np.int64)])
    known = _np(snap.origins, "key").astype(np.uint64)
    st.add_origin_families(known)
    return st
