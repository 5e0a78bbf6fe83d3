"""Partials are mergeable: laws of ``merge`` and "split at a bin edge, then merge" == "all at once"."""

from __future__ import annotations

import functools
import pickle

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_streams import PATHS, PEERS, PREFIXES, WATCH, mapper
from outagewatch.signals.build import batch, element
from outagewatch.signals.engine import SignalEngine
from outagewatch.signals.partial import KEYS, SignalPartial, empty, finalize, merge
from outagewatch.signals.snapshot import restore, snapshot
from outagewatch.signals.state import Rows

BIN = 60
T0 = 1_600_000_020 - 1_600_000_020 % BIN
event = st.tuples(
    st.integers(0, 5 * BIN - 1),  # time offset
    st.sampled_from("AAAWS"),
    st.integers(0, len(PEERS) - 1),
    st.integers(0, len(PREFIXES) - 1),
    st.integers(0, len(PATHS) - 1),
    st.sampled_from([1, 6]),  # new state for S rows
)


def _rows(events: list[tuple[int, str, int, int, int, int]]) -> list[dict[str, object]]:
    rows = []
    for dt, kind, pi, xi, ai, new in sorted(events, key=lambda e: e[0]):
        ip, asn = PEERS[pi]
        if kind == "S":
            rows.append(element(T0 + dt, "S", peer=ip, peer_asn=asn, old_state=6, new_state=new))
        else:
            path = [asn, *PATHS[ai]]
            rows.append(element(T0 + dt, kind, peer=ip, peer_asn=asn, prefix=PREFIXES[xi], path=path))
    return rows


def _engine(state=None) -> SignalEngine:  # type: ignore[no-untyped-def]
    return SignalEngine(
        bin_seconds=BIN, mapper=mapper(), watch=WATCH, fill_gap_seconds=0, state=state, dense=True
    )


def _run(engine: SignalEngine, rows: list[dict[str, object]]) -> list[SignalPartial]:
    out = []
    for i in range(0, len(rows), 7):  # several batches, as a reader would give
        out += [b.partial for b in engine.feed(batch(rows[i : i + 7]))]
    return out + [b.partial for b in engine.flush()]


def _table(partial: SignalPartial) -> list[tuple[object, ...]]:
    t = finalize(partial)
    plain = t.cast(
        pa.schema([pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in t.schema])
    )
    rows = plain.sort_by([(k, "ascending") for k in KEYS]).to_pylist()
    return [tuple(r.values()) for r in rows]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, min_size=1, max_size=40), st.integers(1, 4))
def test_split_at_bin_edge_then_merge_equals_whole(
    events: list[tuple[int, str, int, int, int, int]], k: int
) -> None:
    rows = _rows(events)
    whole = functools.reduce(merge, _run(_engine(), rows), empty())
    cut = T0 + k * BIN
    first = [r for r in rows if r["timestamp"].timestamp() < cut]  # type: ignore[union-attr]
    second = [r for r in rows if r["timestamp"].timestamp() >= cut]  # type: ignore[union-attr]
    e1 = _engine()
    p1 = _run(e1, first) if first else []
    state = pickle.loads(
        pickle.dumps(snapshot(e1.state))
    )  # the slice boundary state, as a task would ship it
    p2 = _run(_engine(restore(state)), second) if second else []
    split = merge(functools.reduce(merge, p1, empty()), functools.reduce(merge, p2, empty()))
    assert _table(split) == _table(whole)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, min_size=1, max_size=30), st.permutations([0, 1, 2]))
def test_merge_is_associative_commutative_with_identity(
    events: list[tuple[int, str, int, int, int, int]], perm: list[int]
) -> None:
    parts = _run(_engine(), _rows(events))
    # three overlapping partials from different "views" (same bins): the hard case for merge
    a = parts[0]
    b = parts[-1]
    c = functools.reduce(merge, parts, empty())
    trio = [a, b, c]
    left = merge(merge(trio[0], trio[1]), trio[2])
    right = merge(trio[perm[0]], merge(trio[perm[1]], trio[perm[2]]))
    assert _table(left) == _table(right)
    assert _table(merge(a, empty())) == _table(a) == _table(merge(empty(), a))


def test_partials_pickle_cheaply() -> None:
    parts = _run(_engine(), _rows([(5, "A", 0, 0, 0, 6), (70, "A", 1, 1, 1, 6), (130, "W", 0, 0, 0, 6)]))
    p = functools.reduce(merge, parts, empty())
    blob = pickle.dumps(p)
    assert len(blob) < 200_000
    assert _table(pickle.loads(blob)) == _table(p)


def _recomputed(partial: SignalPartial) -> SignalPartial:
    return SignalPartial(partial.values, partial.upstreams, partial.reporters)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, min_size=1, max_size=60))
def test_rows_the_engine_derives_equal_what_finalize_derives(
    events: list[tuple[int, str, int, int, int, int]],
) -> None:
    """The engine writes upstream routes, shares and counts and peers reporting as it closes a
    bin; finalize derives the same rows from the partial's upstreams and reporters."""
    for p in _run(_engine(), _rows(events)):
        assert p.derived is not None
        assert _table(p) == _table(_recomputed(p))
        back = pickle.loads(pickle.dumps(p))
        assert back.derived is None and back == p  # the cache is not pickled, nor compared
        assert _table(back) == _table(p)


class _Recounting(SignalEngine):
    """The engine recounting every prefix's visibility, level sums and upstream counts at every
    bin close (no incremental shortcut taken)."""

    def _close(self, open_bin):  # type: ignore[no-untyped-def]
        self.state.core.recount()
        return super()._close(open_bin)


gappy = st.tuples(
    st.integers(0, 20 * BIN - 1),  # spread: most bins of the span have no element
    st.sampled_from("AAAWS"),
    st.integers(0, len(PEERS) - 1),
    st.integers(0, len(PREFIXES) - 1),
    st.integers(0, len(PATHS) - 1),
    st.sampled_from([1, 6]),
)


def _closed(engine: SignalEngine, rows: list[dict[str, object]], step: int) -> list[tuple[object, ...]]:
    out = []
    for i in range(0, len(rows), step):
        out += engine.feed(batch(rows[i : i + step]))
    out += engine.flush()
    return [(b.bin_start_us, _table(b.partial), b.peers.to_pylist()) for b in out]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(gappy, min_size=1, max_size=30))
def test_filled_gap_bins_equal_bins_recounted_from_the_state(
    events: list[tuple[int, str, int, int, int, int]],
) -> None:
    """Bins without elements inside a filled gap carry the state: every bin is there, from the
    first element's bin to the last's, and each equals the bin recounted from the routing state
    (peers too)."""
    rows = _rows(events)

    def make(cls: type[SignalEngine]) -> SignalEngine:
        return cls(bin_seconds=BIN, mapper=mapper(), watch=WATCH, fill_gap_seconds=20 * BIN, dense=True)

    kept, recounted = _closed(make(SignalEngine), rows, 7), _closed(make(_Recounting), rows, 7)
    first = min(T0 + e[0] for e in events) // BIN
    last = max(T0 + e[0] for e in events) // BIN
    assert [b[0] for b in kept] == [k * BIN * 1_000_000 for k in range(first, last + 1)]
    assert kept == recounted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, min_size=1, max_size=60))
def test_incremental_visibility_equals_full_recount(
    events: list[tuple[int, str, int, int, int, int]],
) -> None:
    """Only the prefixes updated in a bin get their visibility redone (unless a peer was cleared
    or the full-feed peers changed): every bin must equal the full recount, session downs (S
    rows) and full-feed changes included."""
    rows = _rows(events)

    def make(cls: type[SignalEngine]) -> SignalEngine:
        return cls(bin_seconds=BIN, mapper=mapper(), watch=WATCH, fill_gap_seconds=0, dense=True)

    assert _closed(make(SignalEngine), rows, 5) == _closed(make(_Recounting), rows, 5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, min_size=2, max_size=50), st.integers(0, 49))
def test_updates_applied_outside_a_bin_reach_the_next_bin(
    events: list[tuple[int, str, int, int, int, int]], cut: int
) -> None:
    """Elements applied to the state directly (as the Dask runner does with elements of bins
    before its slice) are not lost by the incremental visibility: the next bin sees them."""
    rows = _rows(events)
    head, tail = rows[: cut % len(rows)], rows[cut % len(rows) :]
    mid = len(tail) // 2 + 1

    def closed(engine: SignalEngine) -> list[tuple[int, list[tuple[object, ...]]]]:
        out = []
        for r in head:
            out += engine.feed(batch([r]))
        applied = engine.apply_outside([Rows(batch(tail[:mid]), 0, len(tail[:mid]))])
        assert applied == len(tail[:mid])
        for r in tail[mid:]:
            out += engine.feed(batch([r]))
        out += engine.flush()
        return [(b.bin_start_us, _table(b.partial)) for b in out]

    def make(cls: type[SignalEngine]) -> SignalEngine:
        return cls(bin_seconds=BIN, mapper=mapper(), watch=WATCH, fill_gap_seconds=0, dense=True)

    assert closed(make(SignalEngine)) == closed(make(_Recounting))
