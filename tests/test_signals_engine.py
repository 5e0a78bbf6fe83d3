"""The compiled signal engine: classification, session downs, RIB loads, path rules, change coding,
its shortcuts against full recounts, growth, and bad input."""

from __future__ import annotations

import pickle
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_rows import densify, rows, table_dict
from engine_streams import PATHS, PEERS, PREFIXES, WATCH, mapper
from outagewatch.signals import _engine  # type: ignore[attr-defined]
from outagewatch.signals.build import batch, element
from outagewatch.signals.engine import ClosedBin, SignalEngine
from outagewatch.signals.names import FIXED_METRICS
from outagewatch.signals.partial import finalize
from outagewatch.signals.snapshot import restore, snapshot
from outagewatch.signals.state import RoutingState

T0 = 1_600_000_200
BIN = 60


def _feed(engine: SignalEngine, elements: list[dict[str, object]], size: int = 5) -> list[ClosedBin]:
    out: list[ClosedBin] = []
    for i in range(0, len(elements), size):
        out += engine.feed(batch(elements[i : i + size]))
    return out + engine.flush()


def _churn(cb: ClosedBin, entity: tuple[str, str]) -> dict[str, float]:
    return {m: v for et, e, m, v in rows(cb.signals) if (et, e) == entity and m.startswith("all.")}


def test_the_fixed_metric_catalogue_matches_the_core() -> None:
    assert len(FIXED_METRICS) == _engine.M_UP_BASE
    assert FIXED_METRICS[_engine.M_VIS6] == "ipv6.visible_prefixes.ff_any"
    assert FIXED_METRICS[_engine.M_CHURN] == "all.announcements"


def test_announce_duplicate_path_change_withdraw() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    (cb,) = _feed(
        engine,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 2, 3]),
            element(T0 + 1, "A", prefix="10.0.0.0/8", path=[1, 2, 3]),
            element(T0 + 2, "A", prefix="10.0.0.0/8", path=[1, 5, 3]),
            element(T0 + 3, "W", prefix="10.0.0.0/8"),
            element(T0 + 4, "W", prefix="10.0.0.0/8"),  # nothing left: no AS to attribute it to
        ],
    )
    assert _churn(cb, ("global", "all")) == {
        "all.announcements": 3,
        "all.withdrawals": 2,
        "all.duplicate_announcements": 1,
        "all.path_changes": 1,
        "all.updates": 5,
        "all.peers_reporting": 1,
    }
    assert _churn(cb, ("as", "3"))["all.withdrawals"] == 1
    assert engine.state.route_count() == 0


def test_session_down_withdraws_the_peers_routes_and_is_no_churn() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    p1, p2 = "192.0.2.1", "192.0.2.2"
    first = _feed(
        engine,
        [
            element(T0, "A", peer=p1, prefix="10.0.0.0/8", path=[1, 3]),
            element(T0, "A", peer=p1, prefix="11.0.0.0/8", path=[1, 3]),
            element(T0, "A", peer=p2, peer_asn=2, prefix="10.0.0.0/8", path=[2, 3]),
        ],
    )
    assert len(first) == 1
    closed = _feed(
        engine,
        [
            element(T0 + BIN, "S", peer=p1, old_state=6, new_state=1),
            element(T0 + BIN + 1, "A", peer=p1, prefix="11.0.0.0/8", path=[1, 3]),
        ],
    )
    (cb,) = closed
    assert cb.sessions_down == 1
    # the re-announcement after the reset is new, not a duplicate; the down is no withdrawal
    assert _churn(cb, ("global", "all"))["all.duplicate_announcements"] == 0
    assert _churn(cb, ("global", "all"))["all.withdrawals"] == 0
    v4, _ = engine.state.table_sizes()
    assert v4.tolist() == [1, 1]


def test_rib_load_replaces_the_collectors_routes() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    _feed(
        engine,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0, "A", prefix="12.0.0.0/8", path=[1, 3]),
        ],
    )
    n = engine.feed_rib([batch([element(T0 + 9, "B", prefix="12.0.0.0/8", path=[1, 9])])])
    assert n == 1
    peer, prefix, path = engine.state.route_table()
    assert len(peer) == 1 and engine.state.paths.origin[path[0]] == 9
    assert engine.state.prefixes.text(prefix) == ["12.0.0.0/8"]


def test_a_rib_dump_clears_each_of_its_collectors_whichever_batch_it_first_appears_in() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    _feed(
        engine,
        [
            element(T0, "A", peer="192.0.2.1", collector="c1", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0, "A", peer="192.0.2.2", collector="c2", prefix="10.0.0.0/8", path=[1, 3]),
        ],
    )
    dump = [
        batch([element(T0 + 9, "B", peer="192.0.2.1", collector="c1", prefix="11.0.0.0/8", path=[1, 9])]),
        batch([element(T0 + 9, "B", peer="192.0.2.2", collector="c2", prefix="11.0.0.0/8", path=[1, 9])]),
        batch([element(T0 + 9, "B", peer="192.0.2.1", collector="c1", prefix="12.0.0.0/8", path=[1, 9])]),
    ]
    assert engine.feed_rib(dump) == 3
    peer, prefix, _ = engine.state.route_table()
    got = sorted(
        zip(
            [engine.state.peers.ip[p] for p in peer.tolist()], engine.state.prefixes.text(prefix), strict=True
        )
    )
    assert got == [("192.0.2.1", "11.0.0.0/8"), ("192.0.2.1", "12.0.0.0/8"), ("192.0.2.2", "11.0.0.0/8")]


def test_a_fed_batch_of_rib_rows_only_sets_routes_and_closes_nothing() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    assert engine.feed(batch([element(T0, "A", prefix="10.0.0.0/8", path=[1, 3])])) == []
    assert engine.feed(batch([element(T0 + 2 * BIN, "B", prefix="11.0.0.0/8", path=[1, 9])])) == []
    (cb,) = engine.flush()
    assert cb.elements == 1 and engine.state.route_count() == 2


def test_an_ipv4_and_an_ipv6_peer_with_the_same_address_bytes_are_two_peers() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    (cb,) = _feed(
        engine,
        [
            element(T0, "A", peer="192.0.2.1", peer_asn=1, prefix="10.0.0.0/8", path=[1, 3]),
            element(T0, "A", peer="c000:201::", peer_asn=2, prefix="11.0.0.0/8", path=[2, 3]),
        ],
    )
    rows_ = sorted((r["peer_ip"], r["peer_asn"], r["table_size"]) for r in cb.peers.to_pylist())
    assert rows_ == [("192.0.2.1", 1, 1), ("c000:201::", 2, 1)]
    again = SignalEngine(bin_seconds=BIN, state=restore(pickle.loads(pickle.dumps(snapshot(engine.state)))))
    (cb,) = _feed(
        again, [element(T0 + BIN, "A", peer="c000:201::", peer_asn=2, prefix="11.0.0.0/8", path=[2, 3])]
    )
    assert _churn(cb, ("global", "all"))["all.duplicate_announcements"] == 1  # the same peer after restore
    assert again.state.peers.size == 2


@pytest.mark.parametrize(
    ("asns", "segs", "expected"),
    [
        ([1, 2, 2, 2], [2 * 256 + 4], (2, 1)),  # prepending collapsed
        ([7], [2 * 256 + 1], (7, 0)),  # the peer is the origin: no upstream
        ([1, 2, 3, 4], [2 * 256 + 2, 1 * 256 + 2], (2, 1)),  # AS_SET of several: the aggregator
        ([1, 2, 5], [2 * 256 + 2, 1 * 256 + 1], (5, 2)),  # AS_SET of one member
        ([9, 1, 2], [3 * 256 + 1, 2 * 256 + 2], (2, 1)),  # confederation segment dropped
        ([3, 4], [1 * 256 + 2], (0, 0)),  # only a set: unknown origin
        ([1, 7, 6, 2], [2 * 256 + 1, 1 * 256 + 2, 2 * 256 + 1], (2, 6)),  # a set mid-path: its smallest
        ([], [], (0, 0)),
        ([4, 3, 4], [2 * 256 + 3], (4, 3)),
        ([1, 2, 3], [2 * 256 + 9], (3, 2)),  # a count past the ASNs is cut at the end
    ],
)
def test_origin_upstream_rules(asns: list[int], segs: list[int], expected: tuple[int, int]) -> None:
    assert _engine.path_facts(asns, segs) == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**190), 2**190), st.integers(0, 120))
def test_sums_become_correctly_rounded_floats(value: int, shift: int) -> None:
    got = _engine.sum_to_float(value.to_bytes(32, "little", signed=True), shift)
    assert got == float(Fraction(value, 2**shift))


def test_snapshot_round_trip_keeps_routes_and_classification() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    _feed(
        engine,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0, "A", prefix="2001:db8::/32", path=[1, 5]),
        ],
    )
    snap = pickle.loads(pickle.dumps(snapshot(engine.state)))
    assert snap.num_routes == 2
    again = SignalEngine(bin_seconds=BIN, state=restore(snap))
    assert sorted(again.state.known_as.tolist()) == [3, 5]
    (cb,) = _feed(again, [element(T0 + 300, "A", prefix="10.0.0.0/8", path=[1, 3])])
    assert _churn(cb, ("global", "all"))["all.duplicate_announcements"] == 1


def test_close_until_uses_the_callers_clock() -> None:
    engine = SignalEngine(bin_seconds=60)
    t0 = 1_600_000_020
    assert engine.feed(batch([element(t0 + 5, "A", prefix="10.0.0.0/8", path=[1, 3])])) == []
    assert engine.close_until((t0 + 59) * 1_000_000) == []
    closed = engine.close_until((t0 + 60) * 1_000_000)
    assert [c.bin_start_us for c in closed] == [t0 * 1_000_000]
    assert closed[0].elements == 1 and engine.flush() == []


def test_state_carries_across_bins_and_the_last_writer_wins() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    _feed(
        engine,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0 + 5, "A", prefix="10.0.0.0/8", path=[1, 4]),
        ],
    )
    _, _, path = engine.state.route_table()
    assert engine.state.paths.origin[path].tolist() == [4]
    *gap, cb = _feed(engine, [element(T0 + 400, "A", prefix="10.0.0.0/8", path=[1, 4])])
    assert len(gap) == 5  # the bins between (T0 + 60 .. T0 + 359), carried
    assert _churn(cb, ("global", "all"))["all.duplicate_announcements"] == 1
    assert _churn(cb, ("as", "4"))["all.duplicate_announcements"] == 1


def test_a_session_down_after_updates_in_the_same_bin_clears_them() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    (cb,) = _feed(
        engine,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0 + 1, "S", old_state=6, new_state=3),
        ],
    )
    assert engine.state.route_count() == 0
    assert cb.sessions_down == 1
    assert _churn(cb, ("global", "all"))["all.announcements"] == 1
    state = {m: v for et, e, m, v in rows(cb.signals) if (et, e) == ("global", "all")}
    assert state["ipv4.visible_prefixes.ff_any"] == 0


def test_peer_rows_follow_a_peer_whose_only_family_changes() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    closed = _feed(
        engine,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0 + BIN, "W", prefix="10.0.0.0/8"),
            element(T0 + BIN + 1, "A", prefix="2001:db8::/32", path=[1, 3]),
        ],
    )
    rows_of = [[(r["peer_ip"], r["afi"], r["table_size"]) for r in cb.peers.to_pylist()] for cb in closed]
    assert rows_of == [[("192.0.2.1", 4, 1)], [("192.0.2.1", 6, 1)]]


def test_full_feed_peers_and_visibility_levels() -> None:
    """Full feed: a table of at least 75 % of the family's largest. Levels count the full-feed
    peers seeing a prefix: 1 of 4 is >= 25 %, 2 >= 50 %, 3 >= 75 %, 4 all."""
    engine = SignalEngine(bin_seconds=BIN)
    a, b, c, d = (f"10.0.{i}.0/24" for i in range(4))
    tables = {  # peer: (prefixes of AS 7, prefixes of its own, AS 8)
        1: ([a, b, c, d], 0),
        2: ([a, b, c], 1),
        3: ([a, b], 1),
        4: ([a], 2),
        5: ([a], 1),  # 2 routes: below 75 % of 4
    }
    out = []
    for k, (mine, own) in tables.items():
        ip = f"192.0.2.{k}"
        out += [element(T0, "A", peer=ip, peer_asn=100 + k, prefix=p, path=[100 + k, 7]) for p in mine]
        out += [
            element(T0, "A", peer=ip, peer_asn=100 + k, prefix=f"20.{k}.{j}.0/24", path=[100 + k, 8])
            for j in range(own)
        ]
    (cb,) = _feed(engine, out)
    ff = {r["peer_ip"]: r["full_feed"] for r in cb.peers.to_pylist()}
    assert ff == {f"192.0.2.{k}": k <= 4 for k in tables}
    as7 = {m: v for et, e, m, v in rows(cb.signals) if (et, e) == ("as", "7")}
    # a: 4 full-feed peers, b: 3, c: 2, d: 1
    want = {"any": 4, "25pct": 4, "50pct": 3, "75pct": 2, "100pct": 1}
    assert {lv: as7[f"ipv4.visible_prefixes.ff_{lv}"] for lv in want} == want
    assert as7["ipv4.visible_slash24.ff_50pct"] == 3
    glob = {m: v for et, e, m, v in rows(cb.signals) if (et, e) == ("global", "all")}
    assert glob["ipv4.full_feed_peers"] == 4


_EV = st.tuples(st.sampled_from("AAWS"), st.integers(0, 3), st.integers(0, 5), st.integers(0, 2))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_EV, max_size=12), min_size=1, max_size=5))
def test_kept_table_sizes_equal_a_recount_of_the_routes(bins: list[list[tuple[str, int, int, int]]]) -> None:
    prefixes = ["10.0.0.0/8", "11.0.0.0/8", "2001:db8::/32", "12.0.0.0/16", "2001:db8:1::/48", "13.0.0.0/24"]
    state = RoutingState(peer_capacity=2, prefix_capacity=64)  # grown on the way
    for k, events in enumerate(bins):
        elements = []
        for i, (kind, peer, pfx, path) in enumerate(events):
            ip = f"192.0.2.{peer + 1}"
            if kind == "S":
                elements.append(element(T0 + 300 * k + i, "S", peer=ip, old_state=6, new_state=1))
            else:
                elements.append(
                    element(T0 + 300 * k + i, kind, peer=ip, prefix=prefixes[pfx], path=[peer + 1, 9, path])
                )
        if elements:
            state.apply(batch(elements))
        peer, prefix, _ = state.route_table()
        afi = state.prefixes.afi[prefix]
        n = state.peers.size
        want4 = np.bincount(peer[afi == 4], minlength=n)[:n]
        want6 = np.bincount(peer[afi == 6], minlength=n)[:n]
        v4, v6 = state.table_sizes()
        assert v4.tolist() == want4.tolist() and v6.tolist() == want6.tolist()


# --- generated streams --------------------------------------------------------------------

EVENT = st.tuples(
    st.integers(0, 6 * BIN - 1),
    st.sampled_from("AAAWS"),
    st.integers(0, len(PEERS) - 1),
    st.integers(0, len(PREFIXES) - 1),
    st.integers(0, len(PATHS) - 1),
    st.sampled_from([1, 6]),
)


def _elements(
    events: list[tuple[int, str, int, int, int, int]], shuffle: bool = False
) -> list[dict[str, object]]:
    out = []
    for dt, kind, pi, xi, ai, new in events if shuffle else sorted(events, key=lambda e: e[0]):
        ip, asn = PEERS[pi]
        if kind == "S":
            out.append(element(T0 + dt, "S", peer=ip, peer_asn=asn, old_state=6, new_state=new))
        else:
            out.append(
                element(T0 + dt, kind, peer=ip, peer_asn=asn, prefix=PREFIXES[xi], path=[asn, *PATHS[ai]])
            )
    return out


def _make(**kw: object) -> SignalEngine:
    return SignalEngine(bin_seconds=BIN, mapper=mapper(), watch=WATCH, **kw)  # type: ignore[arg-type]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENT, min_size=1, max_size=60), st.booleans())
def test_change_rows_carried_forward_equal_the_dense_rows(
    events: list[tuple[int, str, int, int, int, int]], shuffle: bool
) -> None:
    """A change-coded engine, densified, gives every bin's dense rows (a dense engine's, which
    are written by the keyframe path of the same core, and finalize's derivation from its
    partial)."""
    elements = _elements(events, shuffle)
    changes = densify(_feed(_make(), elements))
    dense_bins = _feed(_make(dense=True), elements)
    assert [b for b, _ in changes] == [c.bin_start_us for c in dense_bins]
    for (_, got), cb in zip(changes, dense_bins, strict=True):
        assert cb.partial is not None
        assert got == table_dict(finalize(cb.partial))
        recomputed = type(cb.partial)(cb.partial.values, cb.partial.upstreams, cb.partial.reporters)
        assert got == table_dict(finalize(recomputed))


class _Recounting(SignalEngine):
    """An engine that recounts everything at every bin close (no shortcut taken)."""

    def _close(self, open_bin):  # type: ignore[no-untyped-def]
        self.state.core.recount()
        return super()._close(open_bin)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENT, min_size=1, max_size=60))
def test_the_shortcuts_equal_a_full_recount_every_bin(
    events: list[tuple[int, str, int, int, int, int]],
) -> None:
    elements = _elements(events)
    kept = densify(_feed(_make(), elements))
    recounted = densify(_feed(_Recounting(bin_seconds=BIN, mapper=mapper(), watch=WATCH), elements))
    assert kept == recounted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENT, min_size=1, max_size=80), st.integers(2, 3))
def test_growing_tables_give_the_same_rows(
    events: list[tuple[int, str, int, int, int, int]], peers: int
) -> None:
    """Tables made tiny grow (wider matrix for more peers, more prefix rows) and keep every
    route: the rows equal those of an engine that had room from the start."""
    elements = _elements(events)
    roomy = densify(_feed(_make(), elements))
    small = densify(_feed(_make(state=RoutingState(peer_capacity=1, prefix_capacity=1)), elements))
    assert roomy == small


def test_growth_keeps_routes_when_peers_and_prefixes_arrive_late() -> None:
    state = RoutingState(peer_capacity=8, prefix_capacity=1024)
    engine = SignalEngine(bin_seconds=BIN, state=state)
    elements = [
        element(
            T0 + i % 50,
            "A",
            peer=f"10.0.{i % 40}.1",
            peer_asn=64000 + i % 40,
            prefix=f"20.{i // 256}.{i % 256}.0/24",
            path=[64000 + i % 40, 7, 1000 + i % 13],
        )
        for i in range(3000)
    ]
    _feed(engine, elements, size=500)
    peer, prefix, _ = state.route_table()
    got = {(int(a), int(b)) for a, b in zip(peer.tolist(), prefix.tolist(), strict=True)}
    assert len(got) == 3000 and state.peers.size == 40 and state.prefixes.size == 3000
    v4, _ = state.table_sizes()
    assert int(v4.sum()) == 3000


def test_a_bin_out_of_time_order_is_applied_in_time_order() -> None:
    ordered = [
        element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
        element(T0 + 1, "A", prefix="10.0.0.0/8", path=[1, 4]),
        element(T0 + 2, "W", prefix="10.0.0.0/8"),
    ]
    a = densify(_feed(SignalEngine(bin_seconds=BIN), ordered, size=3))
    b = densify(_feed(SignalEngine(bin_seconds=BIN), ordered[::-1], size=3))
    assert a == b


def test_sliced_batches_and_int32_kind_indices_are_read_in_place() -> None:
    elements = [element(T0 + i, "A", prefix=f"10.{i}.0.0/16", path=[1, 2, 3 + i % 2]) for i in range(20)]
    whole = batch(elements)
    kind = whole.column("kind")
    wide = pa.DictionaryArray.from_arrays(kind.indices.cast(pa.int32()), kind.dictionary)
    wide_batch = pa.RecordBatch.from_arrays(
        [wide if n == "kind" else whole.column(n) for n in whole.schema.names],
        schema=whole.schema.set(
            whole.schema.get_field_index("kind"), pa.field("kind", wide.type, nullable=False)
        ),
    )
    a = densify(_feed(SignalEngine(bin_seconds=BIN), elements, size=20))
    engine = SignalEngine(bin_seconds=BIN)
    closed = engine.feed(wide_batch.slice(0, 7)) + engine.feed(wide_batch.slice(7)) + engine.flush()
    assert densify(closed) == a


def test_bad_batches_are_refused_with_the_column_named() -> None:
    engine = SignalEngine(bin_seconds=BIN)
    good = batch([element(T0, "A", prefix="10.0.0.0/8", path=[1, 3])])
    wrong = good.drop_columns(["prefix"]).append_column("prefix", pa.array([b"x" * 4], pa.binary(4)))
    with pytest.raises(TypeError, match="prefix"):
        engine.feed(wrong)
    kinds = pa.DictionaryArray.from_arrays(pa.array([0], pa.int8()), pa.array(["A", "W", "B", "S"]))
    no_peer = good.drop_columns(["peer_ip"])
    with pytest.raises(TypeError, match="peer_ip"):
        SignalEngine(bin_seconds=BIN).feed(no_peer)
    assert kinds.dictionary.to_pylist() == ["A", "W", "B", "S"]


def test_descending_path_offsets_are_refused_before_anything_is_applied() -> None:
    state = RoutingState()
    good = batch(
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0 + 1, "A", prefix="11.0.0.0/8", path=[1, 4]),
        ]
    )
    i = good.schema.get_field_index("as_path")
    values = good.column(i).values
    offsets = pa.array([0, 3, 2], pa.int32())  # the second list ends before it starts
    bad_path = pa.ListArray.from_buffers(
        good.schema.field(i).type, 2, [None, offsets.buffers()[1]], children=[values]
    )
    bad = good.set_column(i, good.schema.field(i), bad_path)
    with pytest.raises(ValueError, match="element 1: AS path offsets out of range"):
        state.apply(bad)
    assert state.route_count() == 0  # not even the good first row
    assert state.apply(good) == 2 and state.route_count() == 2


def test_the_core_refuses_bad_arguments() -> None:
    core = RoutingState().core
    with pytest.raises(IndexError):
        core.set_routes(np.array([3], np.int64), np.array([0], np.int64), np.array([0], np.uint32))
    with pytest.raises(ValueError):
        core.close(False, False, 1.5)
    with pytest.raises(IndexError):
        core.add_watch(7, "x")
    with pytest.raises(ValueError):
        core.ingest([], 2, False)
    for bad in (
        lambda: _engine.bin_runs(b"seven b", 300, 0),  # not whole int64s
        lambda: _engine.bin_runs(np.zeros(3, np.int64), 0, 0),
        lambda: _engine.peer_key(1, b"short", 4),
        lambda: _engine.peer_key(1, bytes(16), 5),
    ):
        with pytest.raises(ValueError):
            bad()
    bare = _engine.Core.__new__(_engine.Core)  # never initialised: refused, not a crash
    for call in (
        bare.counts,
        bare.peers,
        bare.routes,
        lambda: bare.prefixes(0, 0),
        lambda: bare.ingest([], 0, False),
    ):
        with pytest.raises(RuntimeError, match="not initialised"):
            call()
