"""A small pure-Python BGP UPDATE decoder for RIS Live's ``raw`` field.

RIS Live sessions negotiate 4-byte AS numbers, so AS_PATH and AGGREGATOR carry 4-byte ASNs
(RFC 6793). The result has the same shape as the JSON fields of a ``ris_message`` UPDATE:
attributes keyed by element-schema column, withdrawn prefixes, and (next hop, prefixes)
announcement groups, prefixes as text. Errors raise ``ValueError`` naming the byte offset.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

from outagewatch.model.element import SEG_AS_SEQUENCE, SEG_AS_SET

MARKER = b"\xff" * 16
UPDATE = 2

Attrs = dict[str, Any]
Group = tuple[str, list[str]]


def decode_update(msg: bytes) -> tuple[Attrs, list[str], list[Group]]:
    """One BGP message (marker included) → (attributes, withdrawn prefixes, announcement groups)."""
    if len(msg) < 19 or msg[:16] != MARKER:
        raise ValueError("raw: not a BGP message (no 16-byte marker)")
    length, mtype = struct.unpack_from("!HB", msg, 16)
    if mtype != UPDATE:
        raise ValueError(f"raw: BGP message type {mtype}, expected UPDATE (2)")
    if length != len(msg) or length < 23:
        raise ValueError(f"raw: BGP length field {length} but {len(msg)} bytes")
    (wlen,) = struct.unpack_from("!H", msg, 19)
    withdrawn = _nlri(msg, 21, 21 + wlen, 4)
    pos = 21 + wlen
    (alen,) = struct.unpack_from("!H", msg, pos)
    attrs, mp_withdrawn, groups = _attributes(msg, pos + 2, pos + 2 + alen)
    nlri = _nlri(msg, pos + 2 + alen, len(msg), 4)
    if nlri:
        groups.insert(0, (attrs.pop("_next_hop", ""), nlri))
    attrs.pop("_next_hop", None)
    return attrs, withdrawn + mp_withdrawn, groups


def _nlri(msg: bytes, pos: int, end: int, version: int) -> list[str]:
    if end > len(msg):
        raise ValueError(f"raw: NLRI at byte {pos} runs past the message end")
    out: list[str] = []
    size = 4 if version == 4 else 16
    while pos < end:
        plen = msg[pos]
        nbytes = (plen + 7) // 8
        if plen > size * 8 or pos + 1 + nbytes > end:
            raise ValueError(f"raw: bad prefix length {plen} at byte {pos}")
        addr = msg[pos + 1 : pos + 1 + nbytes].ljust(size, b"\0")
        ip = ipaddress.IPv4Address(addr) if version == 4 else ipaddress.IPv6Address(addr)
        out.append(f"{ip}/{plen}")
        pos += 1 + nbytes
    return out


def _attributes(msg: bytes, pos: int, end: int) -> tuple[Attrs, list[str], list[Group]]:
    attrs: Attrs = {}
    withdrawn: list[str] = []
    groups: list[Group] = []
    while pos < end:
        flags, code = msg[pos], msg[pos + 1]
        if flags & 0x10:
            (alen,) = struct.unpack_from("!H", msg, pos + 2)
            pos += 4
        else:
            alen = msg[pos + 2]
            pos += 3
        if pos + alen > end:
            raise ValueError(f"raw: attribute {code} at byte {pos} runs past the attributes")
        body = msg[pos : pos + alen]
        if code == 14:
            groups.append(_mp_reach(body))
        elif code == 15:
            withdrawn.extend(_nlri(body, 3, len(body), _family(body)))
        else:
            _simple(attrs, code, body)
        pos += alen
    return attrs, withdrawn, groups


def _family(body: bytes) -> int:
    (afi,) = struct.unpack_from("!H", body, 0)
    if afi not in (1, 2):
        raise ValueError(f"raw: unsupported AFI {afi}")
    return 4 if afi == 1 else 6


def _mp_reach(body: bytes) -> Group:
    version = _family(body)
    nh_len = body[3]
    nh = body[4 : 4 + min(nh_len, 16)]
    next_hop = str(ipaddress.IPv4Address(nh[:4]) if len(nh) == 4 else ipaddress.IPv6Address(nh[:16]))
    return next_hop, _nlri(body, 5 + nh_len, len(body), version)


def _simple(attrs: Attrs, code: int, body: bytes) -> None:
    if code == 1:
        attrs["origin"] = body[0]
    elif code == 2:
        attrs.update(_as_path(body))
    elif code == 3:
        attrs["_next_hop"] = str(ipaddress.IPv4Address(body[:4]))
    elif code == 4:
        attrs["med"] = struct.unpack("!I", body)[0]
    elif code == 5:
        attrs["local_pref"] = struct.unpack("!I", body)[0]
    elif code == 6:
        attrs["atomic_aggregate"] = True
    elif code == 7:
        asn_len = len(body) - 4
        attrs["aggregator_asn"] = int.from_bytes(body[:asn_len], "big")
        attrs["aggregator_ip"] = body[asn_len:]
    elif code == 8:
        attrs["communities"] = list(struct.unpack(f"!{len(body) // 4}I", body))
    elif code == 32:
        flat = struct.unpack(f"!{len(body) // 4}I", body)
        attrs["large_communities"] = [list(flat[i : i + 3]) for i in range(0, len(flat), 3)]


def _as_path(body: bytes) -> Attrs:
    path: list[int] = []
    segments: list[int] = []
    pos = 0
    while pos < len(body):
        stype, count = body[pos], body[pos + 1]
        if pos + 2 + 4 * count > len(body):
            raise ValueError(f"raw: AS_PATH segment at byte {pos} runs past the attribute")
        path.extend(struct.unpack_from(f"!{count}I", body, pos + 2))
        segments.append(stype * 256 + count)
        pos += 2 + 4 * count
    return {"as_path": path, "as_path_segments": segments, **origin_fields(path, segments)}


def origin_fields(path: list[int], segments: list[int]) -> Attrs:
    """``origin_asns`` / ``origin_asn`` as the element schema defines them."""
    if not path:
        return {"origin_asns": [], "origin_asn": None}
    last = segments[-1] if segments else SEG_AS_SEQUENCE * 256 + 1
    if last // 256 == SEG_AS_SET:
        members = path[len(path) - last % 256 :]
        return {"origin_asns": sorted(set(members)), "origin_asn": None}
    return {"origin_asns": [path[-1]], "origin_asn": path[-1]}
