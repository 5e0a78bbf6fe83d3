"""Laws of the detectors: replay == live stepping with checkpoints; re-runs give the same ids."""

from __future__ import annotations

import json
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.detect import (
    DEFAULT_PARAMS,
    Point,
    fold,
    initial,
    latest,
    state_from_json,
    state_to_json,
    step,
)
from outagewatch.detect.point import UPDATES, V4_PREFIXES, V4_SLASH24, V4_SLASH24_ANY, WITHDRAWALS
from outagewatch.detect.replay import instability_quiet, outage_quiet, replay, upstream_quiet

T0 = 1418947200
BIN = 300

bins = st.tuples(
    st.sampled_from([0.0, 1.0, 3.0, 4.0, 4.0, 4.0, 4.0]),
    st.integers(0, 200),
    st.sampled_from(["4837", "4837", "4837", "22351"]),
    st.booleans(),
    st.integers(0, 30),
)


def build(raw: list[tuple[float, int, str, bool, int]]) -> list[Point]:
    pts = []
    for i, (vis, ups, up, multi, skip) in enumerate(raw):
        metrics = {
            V4_SLASH24: vis,
            V4_PREFIXES: vis,
            V4_SLASH24_ANY: vis,
            UPDATES: float(ups),
            WITHDRAWALS: ups / 2,
        }
        if vis:
            metrics.update({f"upstream.{up}.share": 0.5 if multi else 1.0})
            if multi:
                metrics["upstream.174.share"] = 0.5
        pts.append(Point(T0 + i * BIN, BIN, metrics, complete=skip != 0))
    return pts


# Long stretches of normal bins with random disturbances, so the detectors get history and fire.
series = st.lists(bins, min_size=20, max_size=60).map(
    lambda xs: [(4.0, 5, "4837", False, 1)] * 30 + xs + [(4.0, 5, "4837", False, 1)] * 10 + xs
)


@settings(max_examples=40, deadline=None)
@given(series, st.lists(st.integers(0, 200), max_size=5))
def test_fold_equals_stepping_with_checkpoints(raw: list, cuts: list[int]) -> None:
    points = build(raw)
    whole_state, whole = fold(points, initial("country", "KP"))
    state, stepped = initial("country", "KP"), []
    for i, p in enumerate(points):
        if i in cuts:
            state = state_from_json(json.loads(json.dumps(state_to_json(state))))
        if i % 7 == 3:
            state = pickle.loads(pickle.dumps(state))
        state, new = step(state, p)
        stepped.extend(new)
    assert stepped == whole
    assert state == whole_state


@settings(max_examples=25, deadline=None)
@given(series)
def test_rerun_gives_the_same_event_ids_and_no_duplicates(raw: list) -> None:
    points = build(raw)
    _, a = fold(points, initial("as", "131279"))
    _, b = fold(points, initial("as", "131279"))
    ids = [e.event_id for e in latest(a)]
    assert ids == [e.event_id for e in latest(b)]
    assert len(ids) == len(set(ids))


@settings(max_examples=25, deadline=None)
@given(series)
def test_every_event_opens_before_it_closes_and_ends_after_start(raw: list) -> None:
    _, events = fold(build(raw), initial("country", "KP"))
    seen: dict[str, str] = {}
    for e in events:
        if e.transition in ("updated", "closed") and e.kind in ("outage", "instability"):
            assert seen.get(e.event_id) in ("opened", "updated"), e
        seen[e.event_id] = e.transition
        assert e.end is None or e.end >= e.start
        assert e.severity in ("low", "medium", "high", "critical")


def test_incomplete_bins_never_open_an_outage_property() -> None:
    raw = (
        [(4.0, 5, "4837", False, 1)] * 40
        + [(0.0, 5, "4837", False, 0)] * 50
        + [(4.0, 5, "4837", False, 1)] * 5
    )
    _, events = fold(build(raw), initial("country", "KP"))
    assert [e for e in events if e.kind == "outage"] == []


@settings(max_examples=40, deadline=None)
@given(series, st.sampled_from(["country", "as", "prefix"]))
def test_screened_replay_equals_the_full_fold(raw: list, entity_type: str) -> None:
    points = build(raw)
    _, whole = fold(points, initial(entity_type, "X"))
    assert replay(points, entity_type, "X") == whole


def test_quiet_series_skips_every_detector_and_busy_ones_do_not() -> None:
    quiet = build([(4.0, 1, "4837", False, 1)] * 100)
    assert outage_quiet(quiet, DEFAULT_PARAMS.outage) and instability_quiet(quiet, DEFAULT_PARAMS.instability)
    assert upstream_quiet(quiet, "as", DEFAULT_PARAMS.upstream)
    assert not upstream_quiet(quiet, "country", DEFAULT_PARAMS.upstream)
    busy = build(
        [(4.0, 1, "4837", False, 1)] * 50 + [(0.0, 50, "4837", False, 1)] * 10 + [(4.0, 1, "22351", True, 1)]
    )
    assert not outage_quiet(busy, DEFAULT_PARAMS.outage)
    assert not instability_quiet(busy, DEFAULT_PARAMS.instability)
    assert not upstream_quiet(busy, "as", DEFAULT_PARAMS.upstream)
