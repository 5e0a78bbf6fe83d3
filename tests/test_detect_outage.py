"""Outage detector on synthetic signal series (pure: no store)."""

from __future__ import annotations

import random
from collections.abc import Callable

from outagewatch.detect import DEFAULT_PARAMS, Point, fold, initial, latest
from outagewatch.detect.event import event_id, iso
from outagewatch.detect.point import V4_PREFIXES, V4_SLASH24, V4_SLASH24_ANY, reliable_bins

T0 = 1418947200  # 2014-12-19 00:00 UTC
BIN = 300


def series(
    n: int, slash24: Callable[[int], float], complete: Callable[[int], bool] = lambda i: True
) -> list[Point]:
    out = []
    for i in range(n):
        v = slash24(i)
        metrics = {V4_SLASH24: v, V4_PREFIXES: v, V4_SLASH24_ANY: v}
        out.append(Point(T0 + i * BIN, BIN, metrics, complete(i)))
    return out


def outages(points: list[Point]) -> list:
    _, events = fold(points, initial("country", "KP"))
    return [e for e in latest(events) if e.kind == "outage"]


def test_full_outage_start_and_end_are_first_bin_below_and_first_bin_back() -> None:
    pts = series(600, lambda i: 0.0 if 300 <= i < 414 else 4.0)
    [ev] = outages(pts)
    assert ev.start == T0 + 300 * BIN
    assert ev.end == T0 + 414 * BIN
    assert ev.scope == "full" and ev.severity == "critical" and ev.status == "closed"
    assert ev.evidence["lost"][V4_SLASH24] == 4.0
    assert ev.event_id == event_id("outage", "country", "KP", T0 + 300 * BIN)


def test_partial_outage_is_partial() -> None:
    pts = series(400, lambda i: 60.0 if 200 <= i < 230 else 100.0)
    [ev] = outages(pts)
    assert ev.scope == "partial"
    assert abs(ev.score - 0.4) < 1e-9
    assert ev.severity == "medium"


def test_single_low_bin_does_not_open_and_k_bins_do() -> None:
    assert outages(series(400, lambda i: 0.0 if i == 200 else 4.0)) == []
    [ev] = outages(series(400, lambda i: 0.0 if i in (200, 201) else 4.0))
    assert ev.start == T0 + 200 * BIN and ev.end == T0 + 202 * BIN


def test_open_outage_has_no_end_and_reports_opened() -> None:
    pts = series(300, lambda i: 0.0 if i >= 250 else 4.0)
    _, events = fold(pts, initial("as", "131279"))
    assert [e.transition for e in events] == ["opened"]
    assert events[0].end is None and events[0].status == "open"


def test_incomplete_bins_never_open_an_outage() -> None:
    pts = series(400, lambda i: 0.0 if 200 <= i < 260 else 4.0, complete=lambda i: not 200 <= i < 260)
    assert outages(pts) == []


def test_incomplete_bin_between_two_low_bins_breaks_the_run() -> None:
    pts = series(400, lambda i: 0.0 if i in (200, 202) else 4.0, complete=lambda i: i != 201)
    assert outages(pts) == []


def test_no_outage_without_history() -> None:
    assert outages(series(30, lambda i: 0.0 if i >= 5 else 4.0)) == []


def test_noisy_large_entity_has_no_false_outage_but_real_drop_is_found() -> None:
    rng = random.Random(7)
    noise = [10000.0 + rng.gauss(0, 150) for _ in range(2016)]
    assert outages(series(2016, lambda i: noise[i])) == []
    [ev] = outages(series(2016, lambda i: noise[i] * (0.3 if 1000 <= i < 1012 else 1.0)))
    assert ev.start == T0 + 1000 * BIN and ev.end == T0 + 1012 * BIN


def test_baseline_excludes_open_event_bins_so_a_long_outage_stays_open() -> None:
    p = DEFAULT_PARAMS.outage
    n_out = p.window_bins * 2
    [ev] = outages(series(100 + n_out + 20, lambda i: 0.0 if 100 <= i < 100 + n_out else 4.0))
    assert ev.end == T0 + (100 + n_out) * BIN, iso(ev.end or 0)


def test_gap_in_bins_breaks_the_run() -> None:
    pts = [p for p in series(400, lambda i: 0.0 if i in (200, 202) else 4.0) if p.bin_start != T0 + 201 * BIN]
    assert outages(pts) == []


def test_unreliable_bins_never_open_an_outage() -> None:
    pts = series(400, lambda i: 0.0 if 200 <= i < 260 else 4.0)
    pts = [Point(p.bin_start, p.bin_seconds, p.metrics, True, not 200 <= i < 260) for i, p in enumerate(pts)]
    assert outages(pts) == []


def test_reliable_bins_need_enough_full_feed_peers_and_no_sudden_shrink() -> None:
    rows = [
        (0, "ipv4.full_feed_peers", 20.0),
        (300, "ipv4.full_feed_peers", 19.0),
        (600, "ipv4.full_feed_peers", 9.0),
    ]
    rows += [
        (900, "ipv4.full_feed_peers", 9.0),
        (1200, "ipv4.full_feed_peers", 2.0),
        (1200, "ipv6.full_feed_peers", 1.0),
    ]
    assert reliable_bins(rows) == {0: True, 300: True, 600: False, 900: True, 1200: False}
