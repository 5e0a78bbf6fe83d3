"""Render element batches as the lines of Debian ``bgpdump -m`` (pure).

The element columns hold true values; every printing quirk of bgpdump 1.6 lives here:

* line labels: ``BGP4MP``/``BGP4MP_ET`` (+ ``_LOCAL``, ``_AP``), ``TABLE_DUMP``,
  ``TABLE_DUMP2``/``TABLE_DUMP2_AP``, ``BGP`` for the deprecated type-5 records;
  STATE lines always use the plain ``BGP4MP``/``BGP4MP_ET`` label;
* BGP4MP_ET times as ``seconds.micro`` (6 digits);
* absent MED / LOCAL_PREF print ``0``, absent ORIGIN prints ``INCOMPLETE``, an absent
  NEXT_HOP prints ``255.255.255.255`` (bgpdump's INADDR_NONE placeholder);
* IPv6 addresses as ``inet_ntop`` writes them (``::ffff:1.2.3.4`` for mapped next hops);
* AS paths with ``{a,b}`` sets, ``(a b)`` confederation sequences and ``[a,b]``
  confederation sets; communities in wire order with ``no-export``, ``no-advertise`` and
  ``local-AS`` names; large communities are not printed (bgpdump 1.6 does not);
* ``AG``/``NAG`` and ``asn ip`` for the aggregator;
* type-5 ``BGP`` withdrawals print the peer address in place of the prefix address
  (two ``inet_ntoa`` calls in one ``printf`` share a static buffer);
* type-5 ``BGP`` announcements glue the communities to the MED field (``0|0701:1|NAG``)
  and have no empty community field when there are none (``0|0|NAG``), as bgpdump does;
* path ids print only for the add-path MRT subtypes (the decoder also reads add-path NLRI
  found under plain subtypes, which bgpdump prints as garbage prefixes);
* rows bgpdump never prints (TABLE_DUMP_V2 multicast and RIB_GENERIC entries, BGP4MP_ENTRY)
  are skipped
  unless ``bgpdump_only=False``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.model.element import KINDS

_SEG_OPEN: Final = {1: "{", 3: "(", 4: "["}
_SEG_CLOSE: Final = {1: "}", 3: ")", 4: "]"}
_WELL_KNOWN: Final = {0xFFFFFF01: "no-export", 0xFFFFFF02: "no-advertise", 0xFFFFFF03: "local-AS"}
_ORIGINS: Final = {0: "IGP", 1: "EGP"}
KIND_NAMES: Final = KINDS
_TD2_PRINTED: Final = frozenset({2, 4, 8, 10})
_LOCAL: Final = frozenset({6, 7, 10, 11})


def fmt_ipv4(addr: bytes) -> str:
    """Dotted quad of the first four bytes."""
    return f"{addr[0]}.{addr[1]}.{addr[2]}.{addr[3]}"


def fmt_ipv6(addr: bytes) -> str:
    """An IPv6 address as bgpdump writes it: ``inet_ntop`` style, but a single zero word is
    compressed too (``2001:7f8:30::2:1:0:8447``)."""
    words = [(addr[i] << 8) | addr[i + 1] for i in range(0, 16, 2)]
    best_base, best_len, cur_base, cur_len = -1, 0, -1, 0
    for i, w in enumerate(words):
        if w == 0:
            if cur_base < 0:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
            if cur_len > best_len:
                best_base, best_len = cur_base, cur_len
        else:
            cur_base, cur_len = -1, 0
    out = ""
    for i in range(8):
        if best_base <= i < best_base + best_len:
            if i == best_base:
                out += ":"
            continue
        if i:
            out += ":"
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
            return out + fmt_ipv4(addr[12:16])
        out += f"{words[i]:x}"
    if best_base >= 0 and best_base + best_len == 8:
        out += ":"
    return out


class _AddrCache(dict[tuple[int, bytes], str]):
    def __missing__(self, key: tuple[int, bytes]) -> str:
        afi, raw = key
        text = fmt_ipv6(raw) if afi == 6 else fmt_ipv4(raw) if afi == 4 else "255.255.255.255"
        self[key] = text
        return text


def as_path_text(asns: list[int], segments: list[int]) -> str:
    """bgpdump's AS path string from the flat ASN list and the segment codes."""
    parts: list[str] = []
    prev_type = 2
    space = False
    pos = 0
    last_type = 0
    for code in segments:
        seg_type, count = code >> 8, code & 0xFF
        if prev_type != 2:
            parts.append(_SEG_CLOSE.get(prev_type, " "))
        if space:
            parts.append(" ")
        if seg_type != 2:
            parts.append(_SEG_OPEN.get(seg_type, " "))
        sep = "," if seg_type in (1, 4) else " "
        parts.append(sep.join(str(a) for a in asns[pos : pos + count]))
        space = count > 0
        pos += count
        prev_type = last_type = seg_type
    if last_type and last_type != 2:
        parts.append(_SEG_CLOSE.get(last_type, " "))
    return "".join(parts)


def communities_text(values: list[int]) -> str:
    """Communities in wire order, ``asn:value`` or the well-known names."""
    return " ".join(_WELL_KNOWN.get(v) or f"{v >> 16}:{v & 0xFFFF}" for v in values)


def _label(mrt_type: int, subtype: int, kind: str) -> str | None:
    if mrt_type in (16, 17):
        base = "BGP4MP_ET" if mrt_type == 17 else "BGP4MP"
        if kind == "S":
            return base
        return base + ("_LOCAL" if subtype in _LOCAL else "") + ("_AP" if 8 <= subtype <= 11 else "")
    if mrt_type == 13:
        return "TABLE_DUMP2_AP" if subtype >= 8 else "TABLE_DUMP2"
    if mrt_type == 12:
        return "TABLE_DUMP"
    if mrt_type == 5:
        return "BGP"
    return None


def _printed_by_bgpdump(mrt_type: int, subtype: int) -> bool:
    if mrt_type in (16, 17):
        return subtype != 2
    return mrt_type != 13 or subtype in _TD2_PRINTED


def _addpath_subtype(mrt_type: int, subtype: int) -> bool:
    return (mrt_type in (16, 17) and 8 <= subtype <= 11) or (mrt_type == 13 and subtype >= 8)


def printed_by_bgpdump_mask(batch: pa.RecordBatch) -> pa.BooleanArray:
    """True for the rows bgpdump 1.6 prints (it skips TABLE_DUMP_V2 multicast and RIB_GENERIC)."""
    mrt_type, subtype = batch.column("mrt_type"), batch.column("mrt_subtype")
    td2 = pc.equal(mrt_type, 13)
    kept = pc.is_in(subtype, value_set=pa.array(sorted(_TD2_PRINTED), pa.uint16()))
    entry = pc.and_(pc.is_in(mrt_type, value_set=pa.array([16, 17], pa.uint16())), pc.equal(subtype, 2))
    return pc.and_(pc.or_(pc.invert(td2), kept), pc.invert(entry))


class _Fixed:
    """Row access to a fixed-size binary column without a Python object per row."""

    def __init__(self, arr: pa.Array, width: int) -> None:
        buf = arr.buffers()[1]
        self.raw: bytes = buf.to_pybytes() if buf is not None else b""
        self.start = arr.offset * width
        self.width = width

    def __getitem__(self, i: int) -> bytes:
        at = self.start + i * self.width
        return self.raw[at : at + self.width]


class _Lists:
    """Row access to a list<uint32|uint16> column as the raw bytes of each row's values."""

    def __init__(self, arr: pa.Array) -> None:
        values = arr.values
        self.width = values.type.byte_width
        buf = values.buffers()[1]
        self.raw: bytes = buf.to_pybytes() if buf is not None else b""
        self.base = values.offset
        self.offsets = arr.offsets.to_pylist()

    def __getitem__(self, i: int) -> bytes:
        w, base = self.width, self.base
        return self.raw[(base + self.offsets[i]) * w : (base + self.offsets[i + 1]) * w]


def _ints(raw: bytes, width: int) -> list[int]:
    return [int.from_bytes(raw[k : k + width], sys.byteorder) for k in range(0, len(raw), width)]


def render_batch(batch: pa.RecordBatch, *, bgpdump_only: bool = True) -> Iterator[str]:
    """Yield one ``bgpdump -m`` line (without newline) per element of ``batch``."""
    col = batch.column
    ints = {
        name: col(name).to_pylist()
        for name in (
            "mrt_type",
            "mrt_subtype",
            "peer_afi",
            "peer_asn",
            "afi",
            "prefix_len",
            "path_id",
            "nexthop_afi",
            "origin",
            "med",
            "local_pref",
            "atomic_aggregate",
            "aggregator_asn",
            "old_state",
            "new_state",
        )
    }
    kinds = [KIND_NAMES[k] for k in col("kind").indices.to_pylist()]
    ts_us = col("timestamp").cast(pa.int64()).to_pylist()
    peer_ip, prefix_raw, nexthop = (
        _Fixed(col("peer_ip"), 16),
        _Fixed(col("prefix"), 16),
        _Fixed(col("nexthop"), 16),
    )
    agg_ip = _Fixed(col("aggregator_ip"), 4)
    paths, segments, communities = (
        _Lists(col("as_path")),
        _Lists(col("as_path_segments")),
        _Lists(col("communities")),
    )
    addr = _AddrCache()
    path_cache: dict[tuple[bytes, bytes], str] = {}
    comm_cache: dict[bytes, str] = {}
    for i in range(batch.num_rows):
        mrt_type, subtype, kind = ints["mrt_type"][i], ints["mrt_subtype"][i], kinds[i]
        label = _label(mrt_type, subtype, kind)
        if label is None or (bgpdump_only and not _printed_by_bgpdump(mrt_type, subtype)):
            continue
        us = ts_us[i]
        when = f"{us // 1_000_000}.{us % 1_000_000:06d}" if mrt_type == 17 else str(us // 1_000_000)
        peer = addr[(ints["peer_afi"][i], peer_ip[i])]
        head = f"{label}|{when}|{kind}|{peer}|{ints['peer_asn'][i]}|"
        if kind == "S":
            states = f"{ints['old_state'][i]}|{ints['new_state'][i]}"
            yield f"{label}|{when}|STATE|{peer}|{ints['peer_asn'][i]}|{states}"
            continue
        prefix = f"{addr[(ints['afi'][i], prefix_raw[i])]}/{ints['prefix_len'][i]}"
        pid = ints["path_id"][i] if _addpath_subtype(mrt_type, subtype) else None
        if kind == "W":
            if mrt_type == 5:  # bgpdump's two inet_ntoa() calls share one buffer: the peer wins
                prefix = f"{peer}/{ints['prefix_len'][i]}"
            yield f"{head}{prefix}" + (f"|{pid}" if pid is not None else "")
            continue
        key = (paths[i], segments[i])
        path = path_cache.get(key)
        if path is None:
            path = path_cache[key] = as_path_text(_ints(key[0], 4), _ints(key[1], 2))
        comm_key = communities[i]
        comm = comm_cache.get(comm_key)
        if comm is None:
            comm = comm_cache[comm_key] = communities_text(_ints(comm_key, 4))
        agg_asn = ints["aggregator_asn"][i]
        agg = "" if agg_asn is None else f"{agg_asn} {fmt_ipv4(agg_ip[i])}"
        yield (
            f"{head}{prefix}|"
            + (f"{pid}|" if pid is not None else "")
            + f"{path}|{_ORIGINS.get(ints['origin'][i], 'INCOMPLETE')}|"
            + f"{addr[(ints['nexthop_afi'][i], nexthop[i])]}|"
            + f"{ints['local_pref'][i] or 0}|{ints['med'][i] or 0}"
            + ("" if mrt_type == 5 else "|")
            + f"{comm}|"
            + ("AG" if ints["atomic_aggregate"][i] else "NAG")
            + f"|{agg}|"
        )


def render_lines(batches: Iterable[pa.RecordBatch], *, bgpdump_only: bool = True) -> Iterator[str]:
    """Lines for a sequence of batches (see :func:`render_batch`)."""
    for batch in batches:
        yield from render_batch(batch, bgpdump_only=bgpdump_only)


__all__ = [
    "as_path_text",
    "communities_text",
    "fmt_ipv4",
    "fmt_ipv6",
    "printed_by_bgpdump_mask",
    "render_batch",
    "render_lines",
]
