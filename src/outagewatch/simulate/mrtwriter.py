"""Encoding genuine MRT records (RFC 6396) and BGP UPDATE messages (RFC 4271, 4760, 6793).

Pure byte builders: every function takes values and returns ``bytes``. The writer covers what
the simulator needs and what RIS collectors produce:

- TABLE_DUMP_V2 (type 13): PEER_INDEX_TABLE (subtype 1), RIB_IPV4_UNICAST (2), RIB_IPV6_UNICAST (4);
  RIB entries carry 4-byte ASNs; IPv6 entries carry the abbreviated MP_REACH_NLRI of RFC 6396 §4.3.4
  (next-hop length and next hop only);
- BGP4MP (type 16): MESSAGE_AS4 (subtype 4) carrying an UPDATE, STATE_CHANGE_AS4 (subtype 5).

Attribute blocks are built once per (path, next hop, communities) and reused by the caller.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from typing import Final

TABLE_DUMP_V2: Final = 13
PEER_INDEX_TABLE: Final = 1
RIB_IPV4_UNICAST: Final = 2
RIB_IPV6_UNICAST: Final = 4
BGP4MP: Final = 16
BGP4MP_STATE_CHANGE_AS4: Final = 5
BGP4MP_MESSAGE_AS4: Final = 4

ORIGIN_IGP: Final = 0
STATE_IDLE: Final = 1
STATE_ESTABLISHED: Final = 6

_MARKER: Final = b"\xff" * 16
_AFI_IPV4: Final = 1
_AFI_IPV6: Final = 2
_SAFI_UNICAST: Final = 1

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def mrt_header(timestamp: int, mrt_type: int, subtype: int, length: int) -> bytes:
    """The 12-byte MRT common header."""
    return struct.pack("!IHHI", timestamp, mrt_type, subtype, length)


def mrt_record(timestamp: int, mrt_type: int, subtype: int, body: bytes) -> bytes:
    """One complete MRT record: header + body."""
    return mrt_header(timestamp, mrt_type, subtype, len(body)) + body


def nlri(prefix: Network) -> bytes:
    """A prefix in NLRI encoding: length in bits, then the minimal number of address bytes."""
    n = prefix.prefixlen
    return bytes([n]) + prefix.network_address.packed[: (n + 7) // 8]


def _attr(flags: int, code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", flags | 0x10, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def as_path_attr(path: Sequence[int]) -> bytes:
    """AS_PATH with 4-byte ASNs as AS_SEQUENCE segments (at most 255 ASNs per segment)."""
    value = bytearray()
    for i in range(0, len(path), 255):
        seg = path[i : i + 255]
        value += struct.pack(f"!BB{len(seg)}I", 2, len(seg), *seg)
    return _attr(0x40, 2, bytes(value))


def communities_attr(communities: Sequence[tuple[int, int]]) -> bytes:
    """COMMUNITIES (RFC 1997), optional transitive."""
    flat = [x for pair in communities for x in pair]
    return _attr(0xC0, 8, struct.pack(f"!{len(flat)}H", *flat))


def path_attributes(
    path: Sequence[int],
    next_hop: IPAddress,
    *,
    communities: Sequence[tuple[int, int]] = (),
    mp_nlri: Sequence[Network] | None = None,
    rib: bool = False,
) -> bytes:
    """The path-attribute block: ORIGIN, AS_PATH, NEXT_HOP (IPv4) or MP_REACH_NLRI (IPv6), COMMUNITIES.

    For an IPv6 next hop in an UPDATE, ``mp_nlri`` lists the announced prefixes carried inside
    MP_REACH_NLRI; with ``rib=True`` the abbreviated TABLE_DUMP_V2 form (next hop only) is written.
    """
    out = _attr(0x40, 1, bytes([ORIGIN_IGP])) + as_path_attr(path)
    if next_hop.version == 4:
        out += _attr(0x40, 3, next_hop.packed)
    elif rib:
        out += _attr(0x80, 14, bytes([16]) + next_hop.packed)
    else:
        body = struct.pack("!HBB", _AFI_IPV6, _SAFI_UNICAST, 16) + next_hop.packed + b"\x00"
        body += b"".join(nlri(p) for p in mp_nlri or ())
        out += _attr(0x80, 14, body)
    if communities:
        out += communities_attr(communities)
    return out


def mp_unreach_attr(prefixes: Sequence[Network]) -> bytes:
    """MP_UNREACH_NLRI for IPv6 unicast withdrawals."""
    body = struct.pack("!HB", _AFI_IPV6, _SAFI_UNICAST) + b"".join(nlri(p) for p in prefixes)
    return _attr(0x80, 15, body)


def bgp_update(withdrawn: bytes = b"", attributes: bytes = b"", announced: bytes = b"") -> bytes:
    """A BGP UPDATE message from encoded withdrawn routes, attribute block and NLRI."""
    length = 19 + 2 + len(withdrawn) + 2 + len(attributes) + len(announced)
    if length > 4096:
        raise ValueError(f"BGP UPDATE of {length} bytes exceeds 4096")
    return (
        _MARKER
        + struct.pack("!HBH", length, 2, len(withdrawn))
        + withdrawn
        + struct.pack("!H", len(attributes))
        + attributes
        + announced
    )


def bgp4mp_peer_header(peer_asn: int, local_asn: int, peer_ip: IPAddress, local_ip: IPAddress) -> bytes:
    """The BGP4MP *_AS4 prefix: peer AS, local AS, interface index, AFI, peer IP, local IP."""
    if peer_ip.version != local_ip.version:
        raise ValueError("peer and local address must be of the same family")
    afi = _AFI_IPV4 if peer_ip.version == 4 else _AFI_IPV6
    return struct.pack("!IIHH", peer_asn, local_asn, 0, afi) + peer_ip.packed + local_ip.packed


def bgp4mp_message(timestamp: int, peer_header: bytes, message: bytes) -> bytes:
    """A BGP4MP MESSAGE_AS4 record."""
    return mrt_record(timestamp, BGP4MP, BGP4MP_MESSAGE_AS4, peer_header + message)


def bgp4mp_state_change(timestamp: int, peer_header: bytes, old_state: int, new_state: int) -> bytes:
    """A BGP4MP STATE_CHANGE_AS4 record."""
    body = peer_header + struct.pack("!HH", old_state, new_state)
    return mrt_record(timestamp, BGP4MP, BGP4MP_STATE_CHANGE_AS4, body)


def peer_index_table(
    timestamp: int,
    collector_id: ipaddress.IPv4Address,
    view_name: str,
    peers: Sequence[tuple[ipaddress.IPv4Address, IPAddress, int]],
) -> bytes:
    """PEER_INDEX_TABLE record; ``peers`` are (BGP id, address, ASN), all written with 4-byte ASNs."""
    name = view_name.encode()
    body = bytearray(collector_id.packed + struct.pack("!H", len(name)) + name)
    body += struct.pack("!H", len(peers))
    for bgp_id, address, asn in peers:
        kind = 0x02 | (0x01 if address.version == 6 else 0)
        body += bytes([kind]) + bgp_id.packed + address.packed + struct.pack("!I", asn)
    return mrt_record(timestamp, TABLE_DUMP_V2, PEER_INDEX_TABLE, bytes(body))


def rib_entry(peer_index: int, originated: int, attributes: bytes) -> bytes:
    """One RIB entry of a TABLE_DUMP_V2 RIB record."""
    return struct.pack("!HIH", peer_index, originated, len(attributes)) + attributes


def rib_record(timestamp: int, sequence: int, prefix: Network, entries: Sequence[bytes]) -> bytes:
    """A RIB_IPV4_UNICAST or RIB_IPV6_UNICAST record from encoded entries."""
    subtype = RIB_IPV4_UNICAST if prefix.version == 4 else RIB_IPV6_UNICAST
    body = struct.pack("!I", sequence) + nlri(prefix) + struct.pack("!H", len(entries)) + b"".join(entries)
    return mrt_record(timestamp, TABLE_DUMP_V2, subtype, body)
