"""Routing state: update classification, session downs, RIB re-synchronisation, origin/upstream rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.signals import columns as C
from outagewatch.signals.build import batch, element
from outagewatch.signals.paths import origin_upstream_slow
from outagewatch.signals.snapshot import restore, snapshot
from outagewatch.signals.state import RoutingState
from outagewatch.signals.visibility import full_feed, levels

T0 = 1_600_000_000


def _apply(state: RoutingState, rows: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    return state.apply(C.from_batch(batch(rows)))


def test_announce_duplicate_path_change_withdraw() -> None:
    st = RoutingState()
    upd = _apply(
        st,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 2, 3]),
            element(T0 + 1, "A", prefix="10.0.0.0/8", path=[1, 2, 3]),
            element(T0 + 2, "A", prefix="10.0.0.0/8", path=[1, 5, 3]),
            element(T0 + 3, "W", prefix="10.0.0.0/8"),
            element(T0 + 4, "W", prefix="10.0.0.0/8"),
        ],
    )
    assert upd.announce.tolist() == [True, True, True, False, False]
    assert upd.duplicate.tolist() == [False, True, False, False, False]
    assert upd.path_change.tolist() == [False, False, True, False, False]
    assert upd.origin.tolist() == [3, 3, 3, 3, 0]  # 2nd withdrawal: nothing left to withdraw
    assert int((st.routes != 0).sum()) == 0


def test_state_carries_across_bins_and_last_writer_wins() -> None:
    st = RoutingState()
    _apply(
        st,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0 + 5, "A", prefix="10.0.0.0/8", path=[1, 4]),
        ],
    )
    assert st.paths.origin[st.routes[0, 0]] == 4
    upd = _apply(st, [element(T0 + 400, "A", prefix="10.0.0.0/8", path=[1, 4])])
    assert upd.duplicate.tolist() == [True]


def test_session_down_withdraws_everything_of_that_peer_only() -> None:
    st = RoutingState()
    _apply(
        st,
        [
            element(T0, "A", peer="192.0.2.1", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0, "A", peer="192.0.2.1", prefix="11.0.0.0/8", path=[1, 3]),
            element(T0, "A", peer="192.0.2.2", peer_asn=2, prefix="10.0.0.0/8", path=[2, 3]),
        ],
    )
    upd = _apply(
        st,
        [
            element(T0 + 300, "S", peer="192.0.2.1", old_state=6, new_state=1),
            element(T0 + 301, "A", peer="192.0.2.1", prefix="11.0.0.0/8", path=[1, 3]),
        ],
    )
    # after the session reset the re-announcement is new, not a duplicate
    assert upd.duplicate.tolist() == [False]
    assert upd.sessions_down == 1
    v4, _ = st.table_sizes()
    assert v4.tolist() == [1, 1]


def test_session_down_after_updates_in_same_bin_clears_them() -> None:
    st = RoutingState()
    _apply(
        st,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0 + 1, "S", old_state=6, new_state=3),
        ],
    )
    assert int((st.routes != 0).sum()) == 0


def test_rib_resynchronises_collector() -> None:
    st = RoutingState()
    _apply(
        st,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0, "A", prefix="12.0.0.0/8", path=[1, 3]),
        ],
    )
    st.load_rib(C.from_batch(batch([element(T0 + 9, "B", prefix="12.0.0.0/8", path=[1, 9])])), first=True)
    v4, _ = st.table_sizes()
    assert v4.tolist() == [1]
    assert st.paths.origin[st.routes[0, 1]] == 9


@pytest.mark.parametrize(
    ("asns", "segs", "expected"),
    [
        ([1, 2, 2, 2], [2 * 256 + 4], (2, 1)),  # prepending collapsed
        ([7], [2 * 256 + 1], (7, 0)),  # peer is the origin: no upstream
        ([1, 2, 3, 4], [2 * 256 + 2, 1 * 256 + 2], (2, 1)),  # AS_SET of several: aggregator is origin
        ([1, 2, 5], [2 * 256 + 2, 1 * 256 + 1], (5, 2)),  # AS_SET of one member
        ([9, 1, 2], [3 * 256 + 1, 2 * 256 + 2], (2, 1)),  # confederation segment dropped
        ([3, 4], [1 * 256 + 2], (0, 0)),  # only a set: unknown origin
    ],
)
def test_origin_upstream_rules(asns: list[int], segs: list[int], expected: tuple[int, int]) -> None:
    assert origin_upstream_slow(asns, segs) == expected


def test_vectorised_and_slow_origin_rules_agree() -> None:
    rows = [
        element(T0, "A", prefix=f"10.{i}.0.0/16", path=path, as_set=aset)
        for i, (path, aset) in enumerate(
            [([1, 2, 2, 3], []), ([5, 5], []), ([1, 2], [7, 8]), ([1, 2], [9]), ([4, 3, 4], [])]
        )
    ]
    st = RoutingState()
    _apply(st, rows)
    got = [(int(st.paths.origin[p]), int(st.paths.upstream[p])) for p in st.routes[0, :5]]
    assert got == [(3, 2), (5, 0), (2, 1), (9, 2), (4, 3)]


def test_snapshot_round_trip_preserves_routes_and_classification() -> None:
    st = RoutingState()
    _apply(
        st,
        [
            element(T0, "A", prefix="10.0.0.0/8", path=[1, 3]),
            element(T0, "A", prefix="2001:db8::/32", path=[1, 5]),
        ],
    )
    snap = snapshot(st)
    assert snap.num_routes == 2
    again = restore(snap)
    upd = _apply(again, [element(T0 + 300, "A", prefix="10.0.0.0/8", path=[1, 3])])
    assert upd.duplicate.tolist() == [True]
    assert sorted(again.known_as.tolist()) == [3, 5]


def test_full_feed_and_levels() -> None:
    assert full_feed(np.array([100, 75, 74, 0])).tolist() == [True, True, False, False]
    assert full_feed(np.array([0, 0])).tolist() == [False, False]
    # of 4 observers: 1 → ≥25 %, 2 → ≥50 %, 3 → ≥75 %, 4 → all
    assert levels(np.array([0, 1, 2, 3, 4]), 4).tolist() == [0, 2, 3, 4, 5]
    assert levels(np.array([1, 2]), 5).tolist() == [1, 2]
    assert levels(np.array([3]), 0).tolist() == [0]


def test_engine_close_until_uses_the_callers_clock() -> None:
    from outagewatch.signals.engine import SignalEngine

    engine = SignalEngine(bin_seconds=60)
    t0 = 1_600_000_020
    assert engine.feed(batch([element(t0 + 5, "A", prefix="10.0.0.0/8", path=[1, 3])])) == []
    assert engine.close_until((t0 + 59) * 1_000_000) == []
    closed = engine.close_until((t0 + 60) * 1_000_000)
    assert [c.bin_start_us for c in closed] == [t0 * 1_000_000]
    assert closed[0].elements == 1 and engine.flush() == []


_EV = st.tuples(st.sampled_from("AAWS"), st.integers(0, 3), st.integers(0, 5), st.integers(0, 2))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_EV, max_size=12), min_size=1, max_size=5))
def test_incremental_table_sizes_equal_a_recount(bins: list[list[tuple[str, int, int, int]]]) -> None:
    prefixes = ["10.0.0.0/8", "11.0.0.0/8", "2001:db8::/32", "12.0.0.0/16", "2001:db8:1::/48", "13.0.0.0/24"]
    state = RoutingState()
    for k, events in enumerate(bins):
        rows = []
        for i, (kind, peer, pfx, path) in enumerate(events):
            ip = f"192.0.2.{peer + 1}"
            if kind == "S":
                rows.append(element(T0 + 300 * k + i, "S", peer=ip, old_state=6, new_state=1))
            else:
                rows.append(
                    element(T0 + 300 * k + i, kind, peer=ip, prefix=prefixes[pfx], path=[peer + 1, 9, path])
                )
        if rows:
            state.table_sizes()  # counts now maintained incrementally from here
            _apply(state, rows)
        got = state.table_sizes()
        want = state._count_sizes()
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
