"""RIS Live JSON messages → element batches with exactly ``ELEMENT_SCHEMA``.

RIPE RIS Live (https://ris-live.ripe.net/) streams one JSON object per websocket frame:
``{"type": "ris_message", "data": {...}}`` for BGP messages seen by a route collector,
``{"type": "ris_error", "data": {"message": ...}}`` for errors, plus control replies
(``ris_subscribe_ok``, ``pong``, ``ris_rrc_list``).

Mapping of ``ris_message`` data to element rows:

- ``UPDATE``: one ``W`` row per withdrawn prefix, one ``A`` row per announced prefix (each
  ``announcements[i]`` group carries its own ``next_hop``; for IPv6 the global address, the
  first of a comma-separated pair). ``mrt_type``/``mrt_subtype`` are 16/4 (BGP4MP_MESSAGE_AS4),
  what a RIS MRT update dump records for the same message.
- ``RIS_PEER_STATE``: one ``S`` row (16/5): ``connected`` → old 5 (OpenConfirm), new 6
  (Established); ``down`` → old 6, new 1 (Idle).
- ``OPEN``, ``KEEPALIVE``, ``NOTIFICATION``: no rows; counted in :attr:`Decoded.counts`.
- ``host`` ``rrc21.ripe.net`` becomes collector ``rrc21`` (the archive's name).

With ``use_raw=True`` an UPDATE carrying ``raw`` (hex, or base64 in newer servers) is decoded
from the BGP bytes (4-byte AS numbers, as RIS Live sessions negotiate) instead of the JSON
fields; both paths fill the same columns.

Columns are built per batch: per-message attributes once, per-element only the prefix, its
family, length and next hop; the message attributes are expanded with ``take``. Malformed
messages become :class:`~outagewatch.model.problem.Problem` values (``record_index`` = the
message's index in the stream, ``offset`` = byte position of a JSON syntax error or 0) and are
skipped; nothing raises.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.model.element import (
    ELEMENT_SCHEMA,
    KIND_ANNOUNCE,
    KIND_STATE,
    KIND_WITHDRAW,
    KINDS,
    SEG_AS_SEQUENCE,
    SEG_AS_SET,
)
from outagewatch.model.problem import Problem
from outagewatch.parse.rislive_raw import decode_update, origin_fields

MRT_BGP4MP: Final = 16
SUB_MESSAGE: Final = np.uint16(4)  # BGP4MP_MESSAGE_AS4
SUB_STATE: Final = np.uint16(5)  # BGP4MP_STATE_CHANGE_AS4
ORIGINS: Final[dict[str, int]] = {"igp": 0, "egp": 1, "incomplete": 2}
PEER_STATES: Final[dict[str, tuple[int, int]]] = {"connected": (5, 6), "down": (6, 1)}
IGNORED_TYPES: Final = ("OPEN", "KEEPALIVE", "NOTIFICATION")
ZERO16: Final = bytes(16)

Attrs = dict[str, Any]


@dataclass(slots=True)
class Decoded:
    """The elements of some messages plus what else the messages said."""

    batch: pa.RecordBatch
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    max_timestamp: float | None = None


class _Builder:
    """Column lists for one batch: message-level attributes and element-level prefixes."""

    def __init__(self) -> None:
        self.msg: dict[str, list[Any]] = {name: [] for name in _MSG_COLUMNS}
        self.el_msg: list[int] = []
        self.el_kind: list[int] = []
        self.el_prefix: list[str] = []
        self.el_nh: list[int] = []
        self.next_hops: dict[str, int] = {"": 0}
        self.nh_parsed: list[tuple[int, bytes]] = [(0, ZERO16)]
        self.hosts: dict[str, int] = {}
        self.peers: dict[str, tuple[int, bytes]] = {}
        self.index: list[int] = []  # stream index of each message

    def message(self, index: int, data: Attrs, attrs: Attrs, states: tuple[int | None, int | None]) -> int:
        m = self.msg
        self.index.append(index)
        host = str(data["host"]).removesuffix(".ripe.net")
        peer = str(data["peer"])
        hit = self.peers.get(peer)
        if hit is None:
            hit = self.peers[peer] = _address(peer)
        peer_afi, peer_ip = hit
        m["timestamp"].append(round(float(data["timestamp"]) * 1_000_000))
        m["collector"].append(self.hosts.setdefault(host, len(self.hosts)))
        m["peer_afi"].append(peer_afi)
        m["peer_ip"].append(peer_ip)
        m["peer_asn"].append(int(data["peer_asn"]))
        for name in _ATTR_COLUMNS:
            m[name].append(attrs.get(name, _ATTR_DEFAULTS.get(name)))
        m["old_state"].append(states[0])
        m["new_state"].append(states[1])
        return len(m["timestamp"]) - 1

    def elements(self, msg: int, kind: int, prefixes: Sequence[str], next_hop: str) -> None:
        n = len(prefixes)
        nh = self.next_hops.get(next_hop)
        if nh is None:
            parsed = _address(next_hop)
            nh = self.next_hops[next_hop] = len(self.nh_parsed)
            self.nh_parsed.append(parsed)
        self.el_msg.extend([msg] * n)
        self.el_kind.extend([kind] * n)
        self.el_prefix.extend(prefixes)
        self.el_nh.extend([nh] * n)

    def rollback(self, msg: int) -> None:
        """Forget messages from ``msg`` on, and their elements, after a late error."""
        for values in self.msg.values():
            del values[msg:]
        del self.index[msg:]
        while self.el_msg and self.el_msg[-1] >= msg:
            for lst in (self.el_msg, self.el_kind, self.el_prefix, self.el_nh):
                lst.pop()


_ATTR_COLUMNS: Final = (
    "as_path",
    "as_path_segments",
    "origin_asns",
    "origin_asn",
    "origin",
    "med",
    "local_pref",
    "communities",
    "large_communities",
    "atomic_aggregate",
    "aggregator_asn",
    "aggregator_ip",
)
_ATTR_DEFAULTS: Final[dict[str, Any]] = {
    "as_path": [],
    "as_path_segments": [],
    "origin_asns": [],
    "communities": [],
    "large_communities": [],
    "atomic_aggregate": False,
}
_MSG_COLUMNS: Final = (
    "timestamp",
    "collector",
    "peer_afi",
    "peer_ip",
    "peer_asn",
    *_ATTR_COLUMNS,
    "old_state",
    "new_state",
)


def decode(
    messages: Sequence[str | bytes], *, source: str = "ris-live", first_index: int = 0, use_raw: bool = False
) -> Decoded:
    """Decode RIS Live messages (one JSON text each) into one element batch."""
    b = _Builder()
    out = Decoded(batch=_empty_batch())
    latest: float | None = None
    for i, text in enumerate(messages):
        index = first_index + i
        try:
            ts = _one(b, index, text, out, use_raw)
        except json.JSONDecodeError as exc:
            out.problems.append(_problem(source, index, exc.pos, f"invalid JSON: {exc.msg}"))
            _bump(out.counts, "invalid")
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            out.problems.append(_problem(source, index, 0, _cause(exc)))
            _bump(out.counts, "invalid")
        else:
            if ts is not None and (latest is None or ts > latest):
                latest = ts
    out.max_timestamp = latest
    out.batch, bad = _assemble(b)
    for msg, cause in bad:
        out.problems.append(_problem(source, b.index[msg], 0, cause))
    return out


def _empty_batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=ELEMENT_SCHEMA)


def _problem(source: str, index: int, offset: int, cause: str) -> Problem:
    return Problem(source, offset, index, 0, 0, cause)


def _cause(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return f"{type(exc).__name__}: {exc}"


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _one(b: _Builder, index: int, text: str | bytes, out: Decoded, use_raw: bool) -> float | None:
    """Decode one message into the builder; returns its timestamp when it has one."""
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    mtype = obj.get("type")
    data = obj.get("data")
    if mtype == "ris_error":
        _bump(out.counts, "ris_error")
        out.errors.append(str(data.get("message", data) if isinstance(data, dict) else data))
        return None
    if mtype != "ris_message":
        _bump(out.counts, str(mtype))
        return None
    if not isinstance(data, dict):
        raise ValueError("ris_message without a data object")
    kind = data["type"]
    ts = float(data["timestamp"])
    _bump(out.counts, str(kind))
    if kind == "UPDATE":
        _update(b, index, data, use_raw)
    elif kind == "RIS_PEER_STATE":
        state = data["state"]
        if state not in PEER_STATES:
            raise ValueError(f"unknown RIS_PEER_STATE state {state!r}")
        msg = b.message(index, data, {}, PEER_STATES[state])
        b.elements(msg, KIND_STATE, [""], "")
    elif kind not in IGNORED_TYPES:
        raise ValueError(f"unknown ris_message type {kind!r}")
    return ts


def _update(b: _Builder, index: int, data: Attrs, use_raw: bool) -> None:
    raw = data.get("raw") if use_raw else None
    if raw:
        attrs, withdrawn, groups = decode_update(_raw_bytes(str(raw)))
    else:
        withdrawn = [str(p) for p in data.get("withdrawals") or ()]
        groups = [
            (str(a["next_hop"]).split(",", 1)[0], [str(p) for p in a["prefixes"]])
            for a in data.get("announcements") or ()
        ]
        attrs = _json_attrs(data) if groups else {}
    first = len(b.index)
    try:
        if withdrawn:  # withdrawn routes carry no attributes, as in an MRT dump
            b.elements(b.message(index, data, {}, (None, None)), KIND_WITHDRAW, withdrawn, "")
        if groups:
            msg = b.message(index, data, attrs, (None, None))
            for next_hop, prefixes in groups:
                b.elements(msg, KIND_ANNOUNCE, prefixes, next_hop)
    except Exception:
        b.rollback(first)
        raise


def _raw_bytes(raw: str) -> bytes:
    """RIS Live ``raw``: hex in the v1 protocol, base64 in newer servers (marker ``/////``)."""
    if raw[:32].upper() == "F" * 32:
        try:
            return binascii.unhexlify(raw)
        except binascii.Error as exc:
            raise ValueError(f"raw is not valid hex: {exc}") from exc
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"raw is neither hex nor base64: {exc}") from exc


def _json_attrs(data: Attrs) -> Attrs:
    path, segments = _path(data.get("path") or [])
    attrs: Attrs = {"as_path": path, "as_path_segments": segments}
    attrs.update(origin_fields(path, segments))
    origin = data.get("origin")
    if origin is not None:
        if str(origin).lower() not in ORIGINS:
            raise ValueError(f"unknown ORIGIN {origin!r}")
        attrs["origin"] = ORIGINS[str(origin).lower()]
    if data.get("med") is not None:
        attrs["med"] = int(data["med"])
    if data.get("local_pref") is not None:
        attrs["local_pref"] = int(data["local_pref"])
    attrs["communities"] = [int(a) * 65536 + int(v) for a, v in data.get("community") or ()]
    attrs["large_communities"] = [[int(x) for x in c] for c in data.get("large_community") or ()]
    aggregator = data.get("aggregator")
    if aggregator:
        asn, _, ip = str(aggregator).partition(":")
        attrs["aggregator_asn"] = int(asn)
        attrs["aggregator_ip"] = ipaddress.IPv4Address(ip).packed
    attrs["atomic_aggregate"] = bool(data.get("atomic_aggregate", False))
    return attrs


def _path(items: Sequence[Any]) -> tuple[list[int], list[int]]:
    """RIS Live ``path`` (ASNs, AS_SETs as nested lists) → flat ASNs and segment codes."""
    path: list[int] = []
    segments: list[int] = []
    run = 0
    for item in items:
        if isinstance(item, list):
            if run:
                segments.append(SEG_AS_SEQUENCE * 256 + run)
                run = 0
            path.extend(int(x) for x in item)
            segments.append(SEG_AS_SET * 256 + len(item))
        else:
            path.append(int(item))
            run += 1
            if run == 255:
                segments.append(SEG_AS_SEQUENCE * 256 + run)
                run = 0
    if run:
        segments.append(SEG_AS_SEQUENCE * 256 + run)
    return path, segments


def _address(text: str) -> tuple[int, bytes]:
    if ":" in text:
        return 6, ipaddress.IPv6Address(text).packed
    return 4, ipaddress.IPv4Address(text).packed + ZERO16[:12]


def _assemble(b: _Builder) -> tuple[pa.RecordBatch, list[tuple[int, str]]]:
    """Columns → one batch; elements with unparsable prefixes are dropped and reported."""
    if not b.el_msg:
        return _empty_batch(), []
    afi, prefix, plen, bad = _prefixes(b.el_prefix, b.el_kind)
    nh_afi = np.array([a for a, _ in b.nh_parsed], np.uint8)
    nh_addr = np.frombuffer(b"".join(p for _, p in b.nh_parsed), np.uint8).reshape(-1, 16)
    nh_take = np.asarray(b.el_nh, dtype=np.int64)
    nexthop, nexthop_afi = nh_addr[nh_take], nh_afi[nh_take]
    problems = [(b.el_msg[i], f"bad prefix {b.el_prefix[i]!r}") for i in np.flatnonzero(bad)]
    take = pa.array(np.asarray(b.el_msg, dtype=np.int64))
    cols: dict[str, pa.Array] = {}
    for name in _MSG_COLUMNS:
        typ = ELEMENT_SCHEMA.field(name).type
        if name == "collector":
            hosts = pa.array(list(b.hosts), pa.string())
            arr: pa.Array = pa.DictionaryArray.from_arrays(pa.array(b.msg[name], pa.int32()), hosts)
        elif name == "timestamp":
            arr = pa.array(b.msg[name], pa.int64()).cast(typ)
        else:
            arr = pa.array(b.msg[name], typ)
        cols[name] = arr.take(take)
    n = len(b.el_msg)
    kinds = pa.DictionaryArray.from_arrays(pa.array(b.el_kind, pa.int8()), pa.array(KINDS, pa.string()))
    cols.update(
        kind=kinds,
        mrt_type=pa.array(np.full(n, MRT_BGP4MP, np.uint16)),
        mrt_subtype=pa.array(np.where(np.asarray(b.el_kind) == KIND_STATE, SUB_STATE, SUB_MESSAGE)),
        afi=pa.array(afi),
        prefix=_fixed(prefix),
        prefix_len=pa.array(plen),
        path_id=pa.nulls(n, pa.uint32()),
        nexthop_afi=pa.array(nexthop_afi),
        nexthop=_fixed(nexthop),
    )
    batch = pa.RecordBatch.from_arrays([cols[f.name] for f in ELEMENT_SCHEMA], schema=ELEMENT_SCHEMA)
    if bad.any():
        batch = batch.filter(pa.array(~bad))
    return batch, problems


def _fixed(rows: npt.NDArray[np.uint8]) -> pa.Array:
    flat = pa.py_buffer(np.ascontiguousarray(rows).tobytes())
    return pa.Array.from_buffers(pa.binary(16), len(rows), [None, flat])


def _prefixes(
    texts: list[str], kinds: list[int]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Prefix strings → afi, masked 16-byte network, length, and a bad-row mask (vectorised v4)."""
    n = len(texts)
    afi = np.zeros(n, np.uint8)
    out = np.zeros((n, 16), np.uint8)
    plen = np.zeros(n, np.uint8)
    bad = np.zeros(n, bool)
    state = np.asarray(kinds, dtype=np.int8) == KIND_STATE
    arr = pa.array(texts, pa.string())
    v6 = np.asarray(pc.match_substring(arr, ":").to_numpy(zero_copy_only=False), dtype=bool)
    v4 = np.flatnonzero(~v6 & ~state)
    if len(v4):
        _v4_prefixes(arr.take(pa.array(v4)), v4, afi, out, plen, bad)
    for i in np.flatnonzero(v6):
        _slow_prefix(texts[i], int(i), afi, out, plen, bad)
    _mask(out, plen)
    return afi, out, plen, bad


def _v4_prefixes(
    arr: pa.Array,
    rows: npt.NDArray[np.int64],
    afi: npt.NDArray[np.uint8],
    out: npt.NDArray[np.uint8],
    plen: npt.NDArray[np.uint8],
    bad: npt.NDArray[np.bool_],
) -> None:
    ok = pc.match_substring_regex(arr, r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/\d{1,2}$")
    okn = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    good = arr.filter(ok)
    parts = pc.split_pattern_regex(good, r"[./]")
    nums = pc.list_flatten(parts).cast(pa.int32()).to_numpy().reshape(-1, 5)
    valid = (nums[:, :4] <= 255).all(axis=1) & (nums[:, 4] <= 32)
    target = rows[okn]
    out[target[valid], :4] = nums[valid, :4].astype(np.uint8)
    plen[target[valid]] = nums[valid, 4].astype(np.uint8)
    afi[target[valid]] = 4
    bad[target[~valid]] = True
    bad[rows[~okn]] = True


def _slow_prefix(
    text: str,
    i: int,
    afi: npt.NDArray[np.uint8],
    out: npt.NDArray[np.uint8],
    plen: npt.NDArray[np.uint8],
    bad: npt.NDArray[np.bool_],
) -> None:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        bad[i] = True
        return
    afi[i] = net.version
    out[i, : len(net.network_address.packed)] = np.frombuffer(net.network_address.packed, np.uint8)
    plen[i] = net.prefixlen


def _mask(addr: npt.NDArray[np.uint8], plen: npt.NDArray[np.uint8]) -> None:
    """Zero the host bits of every network address in place."""
    bits = np.clip(plen[:, None].astype(np.int32) - np.arange(0, 128, 8, dtype=np.int32), 0, 8).astype(
        np.int32
    )
    addr &= ((np.int32(0xFF00) >> bits) & 0xFF).astype(np.uint8)


__all__ = ["Decoded", "decode"]
