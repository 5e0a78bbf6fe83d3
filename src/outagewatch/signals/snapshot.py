"""Routing state ↔ a compact Arrow table (one row per (peer, prefix) route).

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
    """Every current route of ``state``."""
    peer, prefix = np.nonzero(state.routes)
    path = state.routes[peer, prefix]
    peers, pfx, paths = state.peers, state.prefixes, state.paths
    coll = pa.DictionaryArray.from_arrays(peer.astype(np.int32), pa.array(peers.collector, pa.string()))
    ip = pa.DictionaryArray.from_arrays(peer.astype(np.int32), pa.array(peers.ip, pa.string()))
    addr = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(prefix), [None, pa.py_buffer(np.ascontiguousarray(pfx.addr[prefix]).tobytes())]
    )
    return pa.table(
        {
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
    t = table.select(SNAPSHOT_SCHEMA.names).cast(SNAPSHOT_SCHEMA).combine_chunks()
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
    raw = t["prefix"].chunk(0).buffers()[1]
    addr = np.frombuffer(raw, dtype=np.uint8)[: t.num_rows * 16].reshape(-1, 16)
    prefix, _ = st.prefixes.ids(t["afi"].to_numpy(), addr, t["prefix_len"].to_numpy())
    path = st.paths.intern_facts(t["path_hash"].to_numpy(), t["origin"].to_numpy(), t["upstream"].to_numpy())
    st.set_routes(peer, prefix, path)
    st.note_origins(path, prefix)
    return st
