"""The reference model (tests/signal_model.py) equals the current engine, bin for bin: every
signal row, every peer row, element and session-down counts.

Generated streams cover: peers sharing an ASN, an IPv6 peer, one address at two collectors, a
peer whose ASN changes; IPv4 /25 and /8, an IPv6 /96 (longer than /64), an IPv6 /48 split
between two countries (and one split in thirds by a mapper, odd weights), overlapping and
unmapped prefixes; prepending, final AS_SETs with one and several members, a mid-path AS_SET,
confederation segments, the peer as origin, an empty path, the same ASNs with another segment
structure; MOAS; announcements, duplicates, path changes, withdrawals of known and unknown
routes, session downs and re-establishment, RIB rows in feed batches; out-of-order timestamps
within a bin and late elements; gaps shorter and longer than ``fill_gap_seconds``; watched
prefixes (one never announced); RIB loads before the updates and between batches;
``full_feed_share`` from 0.5 to 1; a prefix as large as 2000::/12 (IPv6 sums past the engine's
exactness bound, summed afresh each bin); an engine whose route matrix starts at 2 x 4 cells.

Batches are cut anywhere (late elements inside a batch, batches of RIB rows only), RIB dumps
spread their collectors over several batches, and an IPv4 and an IPv6 peer share their 16
address bytes (192.0.2.1, c000:201::): the engine must not depend on any of it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from model_compare import compare_bins, engine_bins
from outagewatch.model.element import SEG_AS_SEQUENCE, SEG_AS_SET, SEG_CONFED_SEQUENCE, SEG_CONFED_SET
from outagewatch.signals import metrics
from outagewatch.signals.build import batch, element
from outagewatch.signals.engine import SignalEngine
from outagewatch.signals.mapping import RangeMapper
from outagewatch.signals.state import RoutingState
from signal_model import ModelBin, ModelEngine, elements_of

BIN = 60
T0 = 1_600_000_020 - 1_600_000_020 % BIN
PEERS = [
    ("rrc00", "192.0.2.1", 65001),
    ("rrc00", "192.0.2.2", 65002),
    ("rrc00", "192.0.2.3", 65002),  # shares its ASN with the peer before
    ("rrc00", "2001:db8::9", 65009),  # an IPv6 peer (it may carry IPv4 prefixes too)
    ("rrc01", "192.0.2.1", 65001),  # the first peer's address at another collector: another peer
    ("rrc00", "192.0.2.5", 100),  # AS 100 itself: its routes to AS 100 prefixes have no upstream
    ("rrc00", "192.0.2.3", 65003),  # the third peer, its ASN changed (rare)
    ("rrc00", "c000:201::", 65010),  # an IPv6 peer with the first peer's 16 address bytes
]
PEER_PICK = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6, 7]
PREFIXES = [
    "10.0.0.0/16",
    "10.1.0.0/24",  # watched
    "11.0.0.0/8",
    "10.0.254.0/23",
    "2001:db8:1::/48",  # watched
    "12.0.0.0/25",  # a /25 (0.5 /24s), split between two countries
    "2001:db8:2::/96",  # watched; longer than /64: 2^-48 /48s
    "2001:db8:3::/48",  # split between two countries
    "10.0.0.0/8",  # overlaps the first, second and fourth; split between two countries
    "192.168.0.0/16",  # no country
    "2001:db8:4::/48",  # split in thirds by the "thirds" mapper (odd weights)
    "2000::/12",  # 2^36 /48s: IPv6 sums past the engine's exactness bound, summed afresh (rare)
]
PREFIX_PICK = [*range(len(PREFIXES) - 1)] * 8 + [len(PREFIXES) - 1]
WATCH = ["10.1.0.0/24", "2001:db8:1::/48", "2001:db8:2::/96", "172.16.0.0/12"]  # the last never seen
P = -1  # stands for the peer's ASN
SEQ, SET, CSEQ, CSET = SEG_AS_SEQUENCE, SEG_AS_SET, SEG_CONFED_SEQUENCE, SEG_CONFED_SET
PATHS: list[list[tuple[int, list[int]]]] = [
    [(SEQ, [P, 3356, 100])],
    [(SEQ, [P, 4837, 131279])],
    [(SEQ, [P, 174, 100, 100])],  # prepending
    [(SEQ, [P, 3356, 200])],  # MOAS with AS 100's routes
    [(SEQ, [P, 100])],
    [(SEQ, [P])],  # the peer itself is the origin: no upstream
    [(SEQ, [P, P, P])],  # the same, prepended
    [(SEQ, [P, 3356]), (SET, [100])],  # final AS_SET, one member: origin 100
    [(SEQ, [P, 174]), (SET, [100, 100])],  # final AS_SET, one distinct member
    [(SEQ, [P, 7018]), (SET, [100, 200])],  # final AS_SET, several: origin 7018, upstream P
    [(SET, [100, 200])],  # only a set of several: origin unknown
    [(CSEQ, [65100, 65101]), (SEQ, [P, 3356, 100])],  # confederation segment first
    [(SEQ, [P, 174]), (CSET, [65200])],  # confederation set last
    [(SEQ, [P, 3356]), (SET, [1299, 174]), (SEQ, [100])],  # mid-path set: one hop (174)
    [],  # empty path (iBGP): a route, no origin
    [(SEQ, [P, 3356]), (SEQ, [100])],  # the ASNs of the first path, other segments: another path
    [(SEQ, [P, 4837, 200])],
]
PATH_PICK = [0, 0, 0, 1, 1, 2, 3, 3, 4, *range(5, len(PATHS))]


def _ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def _ranges() -> RangeMapper:
    return RangeMapper(
        [
            (_ip("10.0.0.0"), _ip("10.0.127.255"), "AA"),
            (_ip("10.0.128.0"), _ip("10.255.255.255"), "BB"),
            (_ip("11.0.0.0"), _ip("11.255.255.255"), "KP"),
            (_ip("12.0.0.0"), _ip("12.0.0.63"), "CC"),
            (_ip("12.0.0.64"), _ip("12.0.0.255"), "DD"),
            (_ip("172.16.0.0"), _ip("172.31.255.255"), "ZZ"),  # only a watched prefix
        ],
        [
            (_ip("2001:db8::"), _ip("2001:db8:3:7fff:ffff:ffff:ffff:ffff"), "KP"),
            (_ip("2001:db8:3:8000::"), _ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), "AA"),
        ],
    )


class _Thirds:
    """The range mapper, but 2001:db8:4::/48 is split 1/3 KP, 2/3 AA (float weights that are
    not whole multiples of 2^-16 /48s: sums the engine cannot add exactly)."""

    def __init__(self) -> None:
        self.inner = _ranges()
        net = ipaddress.ip_network("2001:db8:4::/48")
        self.odd = net.network_address.packed

    def map_prefixes(self, afi: Any, prefix: Any, prefix_len: Any) -> tuple[Any, Any, Any]:
        idx, cc, w = self.inner.map_prefixes(afi, prefix, prefix_len)
        hit = {
            i for i in range(len(afi)) if afi[i] == 6 and bytes(prefix[i]) == self.odd and prefix_len[i] == 48
        }
        keep = [j for j in range(len(idx)) if int(idx[j]) not in hit]
        extra = sorted(hit)
        out_i = np.concatenate([idx[keep], np.repeat(np.array(extra, dtype=np.int64), 2)])
        out_c = np.concatenate([cc[keep], np.array(["KP", "AA"] * len(extra), dtype="<U2")])
        out_w = np.concatenate([w[keep], np.array([1 / 3, 2 / 3] * len(extra))])
        return out_i, out_c, out_w


MAPPERS: dict[str, Callable[[], Any]] = {"ranges": _ranges, "thirds": _Thirds, "none": lambda: None}


def _row(ts: float, kind: str, peer: int, prefix: int, path: int, new_state: int | None) -> dict[str, object]:
    collector, ip, asn = PEERS[peer]
    if kind == "S":
        return element(ts, "S", peer=ip, peer_asn=asn, collector=collector, old_state=6, new_state=new_state)
    segs = [(t, [asn if a == P else a for a in members]) for t, members in PATHS[path]]
    row = element(ts, kind, peer=ip, peer_asn=asn, collector=collector, prefix=PREFIXES[prefix])
    if kind in ("A", "B"):
        row["as_path"] = [a for _, members in segs for a in members]
        row["as_path_segments"] = [t * 256 + len(members) for t, members in segs]
    return row


@dataclass(frozen=True)
class Scenario:
    share: float
    fill_gap_seconds: int
    mapper: str
    rib: list[list[dict[str, object]]]  # feed_rib batches before the updates (none: no call)
    batches: list[list[dict[str, object]]]
    mid_rib: tuple[int, list[list[dict[str, object]]]] | None  # feed_rib before batch i
    small_matrix: bool = False  # the engine's route matrix starts at 2 peers x 4 prefixes (grows)


EVENT = st.tuples(
    st.sampled_from([0] * 8 + [1, 1, 1, 2, 3, 16, 17]),  # bins the stream moves on
    st.integers(0, BIN - 1),  # second in the bin: out of order within a bin
    st.sampled_from([0] * 10 + [1, 2]),  # bins back: a late element
    st.sampled_from("AAAAAAWWWWSSB"),
    st.sampled_from(PEER_PICK),
    st.sampled_from(PREFIX_PICK),
    st.sampled_from(PATH_PICK),
    st.sampled_from([1, 3, 6, 6, None]),  # S rows: Idle, Active (session down), Established, none
)
RIB_ENTRY = st.tuples(st.sampled_from(PEER_PICK), st.sampled_from(PREFIX_PICK), st.sampled_from(PATH_PICK))


def _bin(row: dict[str, object]) -> int:
    return int(row["timestamp"].timestamp()) // BIN  # type: ignore[attr-defined]


def _batches(rows: list[dict[str, object]], sizes: list[int]) -> list[list[dict[str, object]]]:
    """Cut rows into batches of the given sizes (cyclically), wherever that falls: late
    elements inside a batch and batches of RIB rows only included."""
    out: list[list[dict[str, object]]] = []
    at = 0
    while at < len(rows):
        size = sizes[len(out) % len(sizes)]
        out.append(rows[at : at + size])
        at += size
    return out


def _rib_batches(entries: list[tuple[int, int, int]], ts: float, split: int) -> list[list[dict[str, object]]]:
    """A RIB dump as one or two batches (a collector may first appear in the second)."""
    rows = [_row(ts, "B", p, x, a, None) for p, x, a in entries]
    return [b for b in (rows[:split], rows[split:]) if b]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    rows = []
    running = 0
    n = draw(st.integers(1, 70))
    for step, sec, back, kind, peer, prefix, path, state in draw(st.lists(EVENT, min_size=n, max_size=n)):
        running += step
        rows.append(_row(T0 + (running - back) * BIN + sec, kind, peer, prefix, path, state))
    batches = _batches(rows, draw(st.lists(st.integers(1, 9), min_size=1, max_size=8)))
    rib_entries = draw(st.lists(RIB_ENTRY, max_size=10))
    rib = _rib_batches(rib_entries, T0 - 3600, draw(st.integers(1, 10))) if rib_entries else []
    mid_rib = None
    if len(batches) > 1 and draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(1, len(batches) - 1))
        entries = draw(st.lists(RIB_ENTRY, min_size=1, max_size=6))
        mid_rib = (at, _rib_batches(entries, T0, draw(st.integers(1, 6))))
    return Scenario(
        share=draw(st.sampled_from([0.5, 0.75, 0.75, 0.9, 1.0])),
        fill_gap_seconds=draw(st.sampled_from([0, 120, 900])),
        mapper=draw(st.sampled_from(["ranges", "ranges", "thirds", "none"])),
        rib=rib,
        batches=batches,
        mid_rib=mid_rib,
        small_matrix=draw(st.booleans()),
    )


def _run(make: Callable[..., Any], sc: Scenario) -> list[Any]:
    extra = (
        {"state": RoutingState(peer_capacity=2, prefix_capacity=4)}
        if make is SignalEngine and sc.small_matrix
        else {}
    )
    engine = make(
        bin_seconds=BIN,
        mapper=MAPPERS[sc.mapper](),
        watch=WATCH,
        full_feed_share=sc.share,
        fill_gap_seconds=sc.fill_gap_seconds,
        **extra,
    )
    if sc.rib:
        engine.feed_rib([batch(b) for b in sc.rib])
    out: list[Any] = []
    for i, rows in enumerate(sc.batches):
        if sc.mid_rib is not None and sc.mid_rib[0] == i:
            engine.feed_rib([batch(b) for b in sc.mid_rib[1]])
        out += engine.feed(batch(rows))
    out += engine.flush()
    return out


def _note_cases(sc: Scenario, bins: Sequence[ModelBin]) -> None:
    """Hypothesis statistics (``--hypothesis-show-statistics``): which rare cases were hit."""
    rows = [r for b in sc.batches for r in b]
    kinds = {str(r["kind"]) for r in rows}
    for k in sorted(kinds):
        event(f"kind {k}")
    event(f"elements >= {10 * (len(rows) // 10)}")
    event(f"bins >= {10 * (len(bins) // 10)}")
    if any(b.sessions_down for b in bins):
        event("session down")
    if any(b.elements == 0 for b in bins):
        event("filled gap")
    if any(b.approx for b in bins):
        event("odd weights (approx keys)")
    if sc.rib:
        event("RIB before updates")
    if sc.mid_rib:
        event("RIB between batches")
    if any(r.get("prefix_len") == 12 for r in rows):
        event("IPv6 /12 (sums afresh)")
    top = -1
    for r in rows:
        if r["kind"] != "B":
            if _bin(r) < top:
                event("late element")
                break
            top = max(top, _bin(r))
    moas = any(
        len({k[1] for k in b.rows if k[0] == "as" and k[2] == "ipv4.visible_prefixes.ff_any"}) >= 2
        for b in bins
    )
    if moas:
        event("two or more ASes visible")


@pytest.mark.slow
@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_model_equals_engine_on_generated_streams(sc: Scenario) -> None:
    model = _run(ModelEngine, sc)
    _note_cases(sc, model)
    compare_bins(model, engine_bins(_run(SignalEngine, sc)))


def test_model_metric_names_are_in_the_catalogue() -> None:
    sc = Scenario(
        0.75,
        900,
        "thirds",
        [],
        [
            [
                _row(T0 + 1, "A", 0, 1, 0, None),
                _row(T0 + 2, "A", 3, 10, 3, None),
                _row(T0 + 3, "A", 3, 4, 0, None),  # KP: 1 /48 + 1/3 /48 (thirds): not exact in floats
                _row(T0 + 4, "A", 3, 6, 13, None),
            ],
            [_row(T0 + 3 * BIN, "A", 2, 1, 1, None)],
        ],
        None,
    )
    bins = _run(ModelEngine, sc)
    names = {k[2] for b in bins for k in b.rows}
    assert {"upstream.3356.share", "all.peers_reporting", "ipv6.visible_slash48.asn_100pct"} <= names
    assert all(metrics.is_known(n) for n in names), sorted(n for n in names if not metrics.is_known(n))
    assert any(b.elements == 0 for b in bins), "a filled gap"
    assert any(b.approx for b in bins), "the thirds mapper gives odd weights"
    compare_bins(bins, engine_bins(_run(SignalEngine, sc)))


def test_late_elements_count_in_the_open_bin_however_the_stream_is_cut() -> None:
    """An element of an earlier bin after one of a later bin is late: it is counted in the open
    bin, in the model and in the engine, whether it came in the same batch or a later one."""
    rows = [
        _row(T0 + 10, "A", 0, 0, 0, None),
        _row(T0 + BIN + 5, "A", 0, 1, 0, None),
        _row(T0 + 20, "A", 0, 2, 0, None),
    ]

    def bins(make: Callable[..., Any], batches: list[list[dict[str, object]]]) -> list[tuple[int, int]]:
        m = make(bin_seconds=BIN)
        out = [b for rs in batches for b in m.feed(batch(rs))] + m.flush()
        return [(b.bin_start_us, b.elements) for b in out]

    want = [(T0 * 1_000_000, 1), ((T0 + BIN) * 1_000_000, 2)]
    for make in (ModelEngine, SignalEngine):
        assert (
            bins(make, [rows]) == bins(make, [[r] for r in rows]) == bins(make, [rows[:2], rows[2:]]) == want
        )


def test_comparer_names_the_first_differing_bin_and_keys() -> None:
    sc = Scenario(
        0.75,
        900,
        "ranges",
        [],
        [
            [_row(T0 + 1, "A", 0, 0, 0, None), _row(T0 + 2, "A", 1, 4, 4, None)],
            [_row(T0 + BIN, "W", 0, 0, 0, None)],
        ],
        None,
    )
    expected = _run(ModelEngine, sc)
    got = engine_bins(_run(SignalEngine, sc))
    compare_bins(expected, got)
    key = ("as", "100", "ipv4.visible_prefixes.ff_any")
    assert key in got[0].rows
    got[0].rows[key] += 1.0
    del got[0].rows["global", "all", "ipv6.full_feed_peers"]
    got[0].rows["country", "XX", "all.updates"] = 3.0
    got[1].elements += 1  # a later bin: not reported
    with pytest.raises(AssertionError) as err:
        compare_bins(expected, got)
    msg = str(err.value)
    assert msg.startswith(f"bin #0 at 2020-09-13 12:27:00Z ({T0 * 1_000_000} µs): 3 differences"), msg
    assert "('as', '100', 'ipv4.visible_prefixes.ff_any'): 1.0 vs 2.0" in msg
    assert "('global', 'all', 'ipv6.full_feed_peers'): 1.0 vs absent" in msg
    assert "('country', 'XX', 'all.updates'): absent vs 3.0" in msg
    assert len(msg.splitlines()) == 4
    with pytest.raises(AssertionError, match=r"expected 2 bins, got 1; first difference at bin #1"):
        compare_bins(expected, got[:1])


REAL_FILES = 3


@pytest.mark.shared
def test_model_equals_engine_on_real_updates(shared_data: Path) -> None:
    """The first three RIS update files of the week (≈ 75 k elements, session resets, AS_SETs,
    a filled gap), every country of the real range tables, watched prefixes seen in them
    (two overlapping), every bin."""
    from outagewatch import read_mrt
    from outagewatch.engine.lookups import ranges_from_tsv

    files = sorted((shared_data / "mrt" / "ris-2022-week").glob("updates.*.gz"))[:REAL_FILES]
    geo = shared_data / "geo"
    mapper = ranges_from_tsv(
        geo / "ip_to_country_1.0.2_ipv4_ranges.tsv", geo / "ip_to_country_1.0.2_ipv6_ranges.tsv"
    )
    watch = ["152.199.192.0/24", "103.98.32.0/22", "103.98.32.0/23", "2001:559:84ed::/48", "2400:dc40::/32"]
    batches = [b for f in files for b in read_mrt(str(f), collector="rrc04")]

    def run(make: Callable[..., Any]) -> list[Any]:
        engine = make(bin_seconds=300, mapper=mapper, watch=watch)
        out: list[Any] = [c for b in batches for c in engine.feed(b)]
        out += engine.flush()
        return out

    model = run(ModelEngine)
    assert sum(len(elements_of(b)) for b in batches) == sum(b.elements for b in model) > 50_000
    assert any(b.elements == 0 for b in model), "the files leave a gap of one bin"
    assert sum(b.sessions_down for b in model) > 0
    assert all(
        any(k[0] == "prefix" and k[1] == w and k[2] == "all.updates" for b in model for k in b.rows)
        for w in watch
    )
    compare_bins(model, engine_bins(run(SignalEngine)))
