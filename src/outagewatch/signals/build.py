"""Build small element batches from plain values (tests, examples, scenario snippets).

Not for bulk data: this makes one Python tuple per element. Readers produce real batches.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime

import pyarrow as pa

from outagewatch.model.element import ELEMENT_SCHEMA, KINDS, SEG_AS_SEQUENCE, SEG_AS_SET


def _addr(text: str) -> tuple[int, bytes]:
    ip = ipaddress.ip_address(text)
    raw = ip.packed
    return ip.version, raw + bytes(16 - len(raw))


def element(
    ts: float | datetime,
    kind: str,
    peer: str = "192.0.2.1",
    peer_asn: int = 64500,
    prefix: str | None = None,
    path: Sequence[int] = (),
    as_set: Sequence[int] = (),
    collector: str = "test",
    new_state: int | None = None,
    old_state: int | None = None,
) -> dict[str, object]:
    """One element as a dict of ELEMENT_SCHEMA columns (``as_set`` appends a final AS_SET)."""
    when = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, tz=UTC)
    peer_afi, peer_raw = _addr(peer)
    afi, raw, plen = 0, bytes(16), 0
    if prefix is not None:
        net = ipaddress.ip_network(prefix, strict=False)
        afi, plen = net.version, net.prefixlen
        raw = net.network_address.packed + bytes(16 - len(net.network_address.packed))
    asns = list(path) + list(as_set)
    segs = ([SEG_AS_SEQUENCE * 256 + len(path)] if path else []) + (
        [SEG_AS_SET * 256 + len(as_set)] if as_set else []
    )
    origins = list(as_set) if as_set else (asns[-1:] if asns else [])
    return {
        "timestamp": when,
        "collector": collector,
        "kind": kind,
        "mrt_type": 17 if kind in "AWS" else 13,
        "mrt_subtype": 4,
        "peer_afi": peer_afi,
        "peer_ip": peer_raw,
        "peer_asn": peer_asn,
        "afi": afi,
        "prefix": raw,
        "prefix_len": plen,
        "path_id": None,
        "as_path": asns if kind in "AB" else [],
        "as_path_segments": segs if kind in "AB" else [],
        "origin_asns": origins if kind in "AB" else [],
        "origin_asn": (None if as_set else (asns[-1] if asns else None)) if kind in "AB" else None,
        "nexthop_afi": 0,
        "nexthop": bytes(16),
        "origin": 0 if kind in "AB" else None,
        "med": None,
        "local_pref": None,
        "communities": [],
        "large_communities": [],
        "atomic_aggregate": False,
        "aggregator_asn": None,
        "aggregator_ip": None,
        "old_state": old_state,
        "new_state": new_state,
    }


def batch(rows: Sequence[dict[str, object]]) -> pa.RecordBatch:
    """An ELEMENT_SCHEMA batch (kind/collector dictionary-encoded, kind codes in KINDS order)."""
    cols: dict[str, object] = {name: [r[name] for r in rows] for name in ELEMENT_SCHEMA.names}
    arrays = []
    for f in ELEMENT_SCHEMA:
        if f.name == "kind":
            codes = pa.array([KINDS.index(str(k)) for k in cols["kind"]], pa.int8())  # type: ignore[attr-defined]
            arrays.append(pa.DictionaryArray.from_arrays(codes, pa.array(list(KINDS))))
        elif f.name == "collector":
            names = sorted(set(cols["collector"]))  # type: ignore[call-overload]
            idx = pa.array([names.index(c) for c in cols["collector"]], pa.int32())  # type: ignore[attr-defined]
            arrays.append(pa.DictionaryArray.from_arrays(idx, pa.array(names, pa.string())))
        else:
            arrays.append(pa.array(cols[f.name], f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=ELEMENT_SCHEMA)
