"""The built-in RangeMapper splits prefixes into exact per-country weights, as CountryMap does."""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.enrich.countries import CountryMap, make_ranges
from outagewatch.signals.mapping import RangeMapper

V6 = [
    ("2001:db8::", "2001:db8:3:7fff:ffff:ffff:ffff:ffff", "KP"),
    ("2001:db8:3:8000::", "2001:db8:ff::", "AA"),
]


def _encode(
    prefixes: list[str],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    nets = [ipaddress.ip_network(p) for p in prefixes]
    raw = np.zeros((len(nets), 16), dtype=np.uint8)
    for k, n in enumerate(nets):
        b = n.network_address.packed
        raw[k, : len(b)] = list(b)
    afi = np.array([n.version for n in nets], dtype=np.uint8)
    return afi, raw, np.array([n.prefixlen for n in nets], dtype=np.uint8)


def _rows(mapper: object, prefixes: list[str]) -> list[tuple[int, str, float]]:
    idx, cc, w = mapper.map_prefixes(*_encode(prefixes))  # type: ignore[attr-defined]
    return sorted(zip(idx.tolist(), [str(c) for c in cc], w.tolist(), strict=True))


def _ints(rows: list[tuple[str, str, str]]) -> list[tuple[int, int, str]]:
    return [(int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b)), c) for a, b, c in rows]


def test_ipv6_prefixes_longer_than_a_48_keep_their_exact_weight() -> None:
    m = RangeMapper([], _ints(V6))
    rows = _rows(m, ["2001:db8::/96", "2001:db8:3:8000::/65", "2001:db8:3::/48", "::/0"])
    assert rows == [
        (0, "KP", 2.0**-48),  # at the very start of a range: still mapped, and not rounded to 0
        (1, "AA", 2.0**-17),
        (2, "AA", 0.5),
        (2, "KP", 0.5),
        (3, "AA", (0xFF0000 - 0x38000 + 1) / 65536.0),  # whole /64s: the last one touched counts
        (3, "KP", 3.5),
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**16 - 1), st.integers(0, 128)), min_size=1, max_size=12))
def test_ipv6_weights_equal_the_country_map(draws: list[tuple[int, int]]) -> None:
    """Prefixes anywhere around the ranges (top 16 bits vary below 2001:db8::/32's /48s)."""
    base = int(ipaddress.ip_address("2001:db8::"))
    prefixes = [str(ipaddress.ip_network((base + (hi << 72), ln), strict=False)) for hi, ln in draws]
    ranges = _ints(V6)
    cmap = CountryMap(
        v6=make_ranges(
            [a >> 64 for a, _, _ in ranges], [b >> 64 for _, b, _ in ranges], [c for *_, c in ranges]
        )
    )
    want = [r for r in _rows(cmap, prefixes) if r[1] != "ZZ"]
    assert _rows(RangeMapper([], ranges), prefixes) == want
