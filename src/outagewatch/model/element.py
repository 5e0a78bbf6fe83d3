"""The element schema: one row per BGP element, the unit of data between parse and signals.

Every source (MRT files, RIS Live, the simulator) produces Arrow record batches with exactly
this schema, so the signal and detector code never cares where elements came from.

Addresses (prefix, peer, next hop) are 16-byte big-endian values; an IPv4 address occupies
the first 4 bytes and the remaining 12 bytes are zero. The family of each address is in the
matching ``*_afi`` column (4 or 6; 0 where there is no address), so an IPv4-mapped IPv6
next hop (``::ffff:a.b.c.d``) stays distinguishable from a plain IPv4 one.

The AS path is kept as a flat list of ASNs (``as_path``) plus its segment structure
(``as_path_segments``): one uint16 per segment, ``segment_type * 256 + asn_count``, with the
RFC 4271 / RFC 5065 type codes (1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE,
4 AS_CONFED_SET). AS4_PATH is already merged into AS_PATH as RFC 6793 section 4.2.3 says.

Column by column:

==================  =========================================  ===================================
column              type                                       meaning
==================  =========================================  ===================================
timestamp           timestamp[us, UTC]                         MRT header time (µs for *_ET types)
collector           dictionary<int32, string>                  collector name given by the caller
kind                dictionary<int8, string>                   A announce, W withdraw, B RIB entry,
                                                               S peer state change
mrt_type            uint16                                     MRT type (12, 13, 16, 17, 5, ...)
mrt_subtype         uint16                                     MRT subtype
peer_afi            uint8                                      4 or 6
peer_ip             fixed_size_binary[16]                      peer address
peer_asn            uint32                                     peer AS number
afi                 uint8                                      prefix family: 4, 6, 0 for S rows
prefix              fixed_size_binary[16]                      prefix network address
prefix_len          uint8                                      prefix length
path_id             uint32 (nullable)                          add-path identifier (RFC 7911)
as_path             list<uint32>                               all ASNs in path order
as_path_segments    list<uint16>                               type*256+count per segment
origin_asns         list<uint32>                               origin AS(es): the last ASN, or all
                                                               members of a final AS_SET
origin_asn          uint32 (nullable)                          the single origin; null when the
                                                               path ends in an AS_SET or is empty
nexthop_afi         uint8                                      4, 6, or 0 when absent
nexthop             fixed_size_binary[16]                      next hop (global address)
origin              uint8 (nullable)                           ORIGIN: 0 IGP, 1 EGP, 2 INCOMPLETE
med                 uint32 (nullable)                          MULTI_EXIT_DISC
local_pref          uint32 (nullable)                          LOCAL_PREF
communities         list<uint32>                               RFC 1997, asn*65536+value
large_communities   list<fixed_size_list<uint32>[3]>           RFC 8092 (global, local1, local2)
atomic_aggregate    bool                                       ATOMIC_AGGREGATE present
aggregator_asn      uint32 (nullable)                          AGGREGATOR AS
aggregator_ip       fixed_size_binary[4] (nullable)            AGGREGATOR address
old_state           uint8 (nullable)                           S rows: BGP FSM state before
new_state           uint8 (nullable)                           S rows: BGP FSM state after
==================  =========================================  ===================================
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

KINDS: Final[tuple[str, ...]] = ("A", "W", "B", "S")
"""Dictionary of the ``kind`` column, in code order (code 0 is ``A``)."""

KIND_ANNOUNCE: Final = 0
KIND_WITHDRAW: Final = 1
KIND_RIB: Final = 2
KIND_STATE: Final = 3

SEG_AS_SET: Final = 1
SEG_AS_SEQUENCE: Final = 2
SEG_CONFED_SEQUENCE: Final = 3
SEG_CONFED_SET: Final = 4

BGP_STATES: Final[dict[int, str]] = {
    1: "Idle",
    2: "Connect",
    3: "Active",
    4: "OpenSent",
    5: "OpenConfirm",
    6: "Established",
    7: "Clearing",
    8: "Deleted",
}
STATE_ESTABLISHED: Final = 6

ADDR = pa.binary(16)

ELEMENT_SCHEMA: Final[pa.Schema] = pa.schema(
    [
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("collector", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("kind", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("mrt_type", pa.uint16(), nullable=False),
        pa.field("mrt_subtype", pa.uint16(), nullable=False),
        pa.field("peer_afi", pa.uint8(), nullable=False),
        pa.field("peer_ip", ADDR, nullable=False),
        pa.field("peer_asn", pa.uint32(), nullable=False),
        pa.field("afi", pa.uint8(), nullable=False),
        pa.field("prefix", ADDR, nullable=False),
        pa.field("prefix_len", pa.uint8(), nullable=False),
        pa.field("path_id", pa.uint32()),
        pa.field("as_path", pa.list_(pa.uint32()), nullable=False),
        pa.field("as_path_segments", pa.list_(pa.uint16()), nullable=False),
        pa.field("origin_asns", pa.list_(pa.uint32()), nullable=False),
        pa.field("origin_asn", pa.uint32()),
        pa.field("nexthop_afi", pa.uint8(), nullable=False),
        pa.field("nexthop", ADDR, nullable=False),
        pa.field("origin", pa.uint8()),
        pa.field("med", pa.uint32()),
        pa.field("local_pref", pa.uint32()),
        pa.field("communities", pa.list_(pa.uint32()), nullable=False),
        pa.field("large_communities", pa.list_(pa.list_(pa.uint32(), 3)), nullable=False),
        pa.field("atomic_aggregate", pa.bool_(), nullable=False),
        pa.field("aggregator_asn", pa.uint32()),
        pa.field("aggregator_ip", pa.binary(4)),
        pa.field("old_state", pa.uint8()),
        pa.field("new_state", pa.uint8()),
    ]
)

__all__ = [
    "BGP_STATES",
    "ELEMENT_SCHEMA",
    "KINDS",
    "KIND_ANNOUNCE",
    "KIND_RIB",
    "KIND_STATE",
    "KIND_WITHDRAW",
    "SEG_AS_SEQUENCE",
    "SEG_AS_SET",
    "SEG_CONFED_SEQUENCE",
    "SEG_CONFED_SET",
    "STATE_ESTABLISHED",
]
