"""Instability detector and trend measure on synthetic churn series."""

from __future__ import annotations

import random

from outagewatch.detect import Point, fold, initial, latest
from outagewatch.detect.point import UPDATES, V4_PREFIXES, V4_SLASH24
from outagewatch.detect.trend import increasing_hours, mann_kendall_z, theil_sen_slope

T0 = 1418947200
BIN = 300
HOUR = 12


def churn_series(rate: list[float], seed: int = 1, prefixes: float = 4.0) -> list[Point]:
    """Poisson-ish updates per bin with the given mean per bin."""
    rng = random.Random(seed)
    out = []
    for i, lam in enumerate(rate):
        ups = float(sum(1 for _ in range(int(lam * 4)) if rng.random() < 0.25))
        out.append(Point(T0 + i * BIN, BIN, {V4_SLASH24: prefixes, V4_PREFIXES: prefixes, UPDATES: ups}))
    return out


def instability(points: list[Point]) -> list:
    _, events = fold(points, initial("country", "KP"))
    return [e for e in latest(events) if e.kind == "instability"]


def test_quiet_series_has_no_instability() -> None:
    assert instability(churn_series([3.0] * (HOUR * 72))) == []


def test_rising_churn_opens_early_with_an_increasing_trend() -> None:
    quiet = [3.0] * (HOUR * 36)
    rising = [3.0 * 1.1 ** (i / HOUR) for i in range(HOUR * 36)]
    [ev] = instability(churn_series(quiet + rising))
    assert T0 + 36 * 3600 < ev.start < T0 + 60 * 3600
    assert ev.evidence["trend"]["increasing_hours"] >= 24
    assert ev.score >= 5
    assert ev.status == "open"


def test_burst_opens_and_closes() -> None:
    rate = [3.0] * (HOUR * 24) + [60.0] * (HOUR * 2) + [3.0] * (HOUR * 6)
    [ev] = instability(churn_series(rate))
    assert abs(ev.start - (T0 + 24 * 3600)) <= 3 * BIN
    assert ev.end is not None
    assert abs(ev.end - (T0 + 27 * 3600)) <= 2 * 3600
    assert ev.evidence["trend"]["increasing_hours"] == 0


def test_small_absolute_volume_does_not_open() -> None:
    rate = [0.05] * (HOUR * 24) + [1.0] * (HOUR * 2) + [0.05] * HOUR
    assert instability(churn_series(rate, prefixes=1000.0)) == []


def test_cold_start_storm_opens_without_history() -> None:
    pts = [Point(T0 + i * 60, 60, {V4_PREFIXES: 100.0, UPDATES: 9000.0}) for i in range(5)]
    [ev] = instability(pts)
    assert ev.start == T0


def test_mann_kendall_and_theil_sen() -> None:
    assert mann_kendall_z(list(range(20))) > 5
    assert mann_kendall_z(list(range(20, 0, -1))) < -5
    assert mann_kendall_z([1.0] * 20) == 0.0
    assert theil_sen_slope([0.0, 2.0, 4.0, 100.0, 8.0]) == 2.0
    assert increasing_hours([float(i) for i in range(30)]).hours == 24
    assert increasing_hours([5.0] * 30).hours == 0
