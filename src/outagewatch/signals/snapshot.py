"""Routing state ↔ a compact Arrow table.

Rows of ``kind`` 0 are routes (one per (peer, prefix)); kind 1 rows are prefixes seen before
but without a route now; kind 2 rows are (origin ASN, family) pairs seen before. The last two
keep the set of known entities, so a task started from a snapshot reports the same entities
(with zeros) as a run that saw the history itself.

Used to carry state from one ingest window to the next and to start a (collector, time slice)
task from the state at its start. A path is kept by its 64-bit hash plus its origin and
upstream: enough to continue duplicate / path-change classification and every roll-up.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa

from outagewatch.signals.state import RoutingState

SNAPSHOT_SCHEMA: Final = pa.schema(
    [
        ("kind", pa.uint8()),
        ("collector", pa.string()),
        ("peer_ip", pa.string()),
        ("peer_afi", pa.uint8()),
        ("peer_asn", pa.uint32()),
        ("peer_key", pa.uint64()),
        ("afi", pa.uint8()),
        ("prefix", pa.binary(16)),
        ("prefix_len", pa.uint8()),
        ("path_hash", pa.uint64()),
        ("origin", pa.uint32()),
        ("upstream", pa.uint32()),
    ]
)


def snapshot(state: RoutingState) -> pa.Table:
    """Every current route of ``state``, plus the known prefixes and origins without routes."""
    return pa.concat_tables([_routes(state), _known(state)])


def _known(state: RoutingState) -> pa.Table:
    pfx = state.prefixes
    idle = np.flatnonzero(~(state.routes != 0).any(axis=0)) if pfx.size else np.zeros(0, np.int64)
    fam = state.origin_families
    n_p, n_o = len(idle), len(fam)
    n = n_p + n_o
    addr = np.concatenate([pfx.addr[idle], np.zeros((n_o, 16), np.uint8)])
    zeros = np.zeros(n, dtype=np.uint64)
    return pa.table(
        {
            "kind": pa.array(np.concatenate([np.ones(n_p, np.uint8), np.full(n_o, 2, np.uint8)])),
            "collector": pa.array([""] * n, pa.string()),
            "peer_ip": pa.array([""] * n, pa.string()),
            "peer_afi": pa.array(np.zeros(n, np.uint8)),
            "peer_asn": pa.array(np.zeros(n, np.uint32)),
            "peer_key": pa.array(zeros),
            "afi": pa.array(np.concatenate([pfx.afi[idle], (fam & np.uint64(7)).astype(np.uint8)])),
            "prefix": _fixed(addr),
            "prefix_len": pa.array(np.concatenate([pfx.plen[idle], np.zeros(n_o, np.uint8)])),
            "path_hash": pa.array(zeros),
            "origin": pa.array(
                np.concatenate([np.zeros(n_p, np.uint32), (fam >> np.uint64(3)).astype(np.uint32)])
            ),
            "upstream": pa.array(np.zeros(n, np.uint32)),
        },
        schema=SNAPSHOT_SCHEMA,
    )


def _fixed(addr: np.ndarray) -> pa.Array:
    buf = pa.py_buffer(np.ascontiguousarray(addr, dtype=np.uint8).tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(addr), [None, buf])


def _routes(state: RoutingState) -> pa.Table:
    peer, prefix = np.nonzero(state.routes)
    path = state.routes[peer, prefix]
    peers, pfx, paths = state.peers, state.prefixes, state.paths
    coll = pa.DictionaryArray.from_arrays(peer.astype(np.int32), pa.array(peers.collector, pa.string()))
    ip = pa.DictionaryArray.from_arrays(peer.astype(np.int32), pa.array(peers.ip, pa.string()))
    addr = _fixed(pfx.addr[prefix])
    return pa.table(
        {
            "kind": pa.array(np.zeros(len(peer), np.uint8)),
            "collector": coll.cast(pa.string()),
            "peer_ip": ip.cast(pa.string()),
            "peer_afi": pa.array(peers.afi[peer]),
            "peer_asn": pa.array(peers.asn[peer]),
            "peer_key": pa.array(peers.key[peer]),
            "afi": pa.array(pfx.afi[prefix]),
            "prefix": addr,
            "prefix_len": pa.array(pfx.plen[prefix]),
            "path_hash": pa.array(paths.hash[path]),
            "origin": pa.array(paths.origin[path]),
            "upstream": pa.array(paths.upstream[path]),
        },
        schema=SNAPSHOT_SCHEMA,
    )


def restore(table: pa.Table, state: RoutingState | None = None) -> RoutingState:
    """A routing state holding the routes of a snapshot table."""
    st = state or RoutingState()
    if table.num_rows == 0:
        return st
    full = table.select(SNAPSHOT_SCHEMA.names).cast(SNAPSHOT_SCHEMA).combine_chunks()
    kind = full["kind"].to_numpy()
    _restore_known(st, full.filter(pa.array(kind != 0)), kind[kind != 0])
    t = full.filter(pa.array(kind == 0)).combine_chunks()
    if t.num_rows == 0:
        return st
    keys = t["peer_key"].to_numpy()
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    first_rows = t.take(pa.array(first))
    ids = [
        st.peers.add_known(
            int(k), str(r["collector"]), str(r["peer_ip"]), int(r["peer_asn"]), int(r["peer_afi"])
        )
        for k, r in zip(uniq.tolist(), first_rows.to_pylist(), strict=True)
    ]
    peer = np.array(ids, dtype=np.int64)[inverse.reshape(-1)]
    addr = _addr(t["prefix"])
    prefix, _ = st.prefixes.ids(t["afi"].to_numpy(), addr, t["prefix_len"].to_numpy())
    path = st.paths.intern_facts(t["path_hash"].to_numpy(), t["origin"].to_numpy(), t["upstream"].to_numpy())
    st.set_routes(peer, prefix, path)
    st.note_origins(path, prefix)
    return st


def _addr(col: pa.ChunkedArray) -> np.ndarray:
    arr = col.combine_chunks()
    raw = arr.buffers()[1]
    return np.frombuffer(raw, dtype=np.uint8)[arr.offset * 16 : (arr.offset + len(arr)) * 16].reshape(-1, 16)


def _restore_known(st: RoutingState, t: pa.Table, kind: np.ndarray) -> None:
    if t.num_rows == 0:
        return
    afi = t["afi"].to_numpy()
    p = kind == 1
    if p.any():
        st.prefixes.ids(afi[p], _addr(t["prefix"])[p], t["prefix_len"].to_numpy()[p])
    o = kind == 2
    keys = t["origin"].to_numpy()[o].astype(np.uint64) * np.uint64(8) + afi[o].astype(np.uint64)
    st.origin_families = np.union1d(st.origin_families, keys).astype(np.uint64)
