"""A small world for generated element streams (engine and merge tests): peers (two sharing an
ASN, one IPv6), prefixes (overlapping, a /25, an IPv6 /96 longer than /64, an IPv6 /48 split
between two countries), AS paths (prepending, MOAS) and a country map over them."""

from __future__ import annotations

import ipaddress

from outagewatch.signals.mapping import RangeMapper

PEERS = [("192.0.2.1", 65001), ("192.0.2.2", 65002), ("192.0.2.3", 65002), ("2001:db8::9", 65009)]
PREFIXES = [
    "10.0.0.0/16",
    "10.1.0.0/24",
    "11.0.0.0/8",
    "10.0.255.0/23",
    "2001:db8:1::/48",
    "12.0.0.0/25",
    "2001:db8:2::/96",  # longer than /64: an odd weight (2^-48 /48s), also in its country row
    "2001:db8:3::/48",  # split between two countries
]
PATHS = [[64500, 3356, 100], [64501, 4837, 131279], [64502, 174, 100, 100], [64503, 100], [64504, 4837, 200]]
WATCH = ["10.1.0.0/24", "2001:db8:1::/48"]


def mapper() -> RangeMapper:
    """AA, BB and KP over 10/8 and 11/8; KP and AA over 2001:db8::/32 (2001:db8:3::/48 split)."""
    ip = lambda s: int(ipaddress.ip_address(s))  # noqa: E731
    return RangeMapper(
        [
            (ip("10.0.0.0"), ip("10.0.127.255"), "AA"),
            (ip("10.0.128.0"), ip("10.255.255.255"), "BB"),
            (ip("11.0.0.0"), ip("11.255.255.255"), "KP"),
        ],
        [
            (ip("2001:db8::"), ip("2001:db8:3:7fff:ffff:ffff:ffff:ffff"), "KP"),
            (ip("2001:db8:3:8000::"), ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), "AA"),
        ],
    )
