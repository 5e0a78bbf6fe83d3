"""Trend of a short series: Mann-Kendall test and Theil-Sen slope, and "increasing for N hours".

Both are rank-based, so a single spike cannot fake a trend, and cheap for the ≤ 48 hourly values
the instability detector keeps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from outagewatch.detect.baseline import median


@dataclass(frozen=True)
class Trend:
    """Upward trend over the last ``hours`` values: Mann-Kendall ``z``, Theil-Sen slope of log1p."""

    hours: int
    z: float
    slope: float
    increasing: bool


def mann_kendall_z(values: Sequence[float]) -> float:
    """The Mann-Kendall Z statistic (with the tie correction); positive for an upward trend."""
    n = len(values)
    if n < 3:
        return 0.0
    s = 0
    for i in range(n - 1):
        xi = values[i]
        for j in range(i + 1, n):
            d = values[j] - xi
            s += (d > 0) - (d < 0)
    ties: dict[float, int] = {}
    for v in values:
        ties[v] = ties.get(v, 0) + 1
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties.values())) / 18.0
    if var <= 0 or s == 0:
        return 0.0
    return (s - 1) / math.sqrt(var) if s > 0 else (s + 1) / math.sqrt(var)


def theil_sen_slope(values: Sequence[float]) -> float:
    """Median of the pairwise slopes."""
    slopes = tuple(
        (values[j] - values[i]) / (j - i) for i in range(len(values) - 1) for j in range(i + 1, len(values))
    )
    return median(slopes)


def increasing_hours(
    hourly: Sequence[float], spans: Sequence[int] = (6, 12, 18, 24, 36, 48), z_min: float = 1.645
) -> Trend:
    """The longest trailing span of ``hourly`` values (from ``spans``) with a significant upward trend.

    A span counts when the one-sided Mann-Kendall test passes at ``z_min`` (95 % by default), the
    Theil-Sen slope of log1p(values) is positive, and the rise is sustained: its first three
    quarters alone also trend upwards significantly, so one late jump is not "increasing for
    24 h". ``Trend.hours`` is 0 when no span does.
    """
    best = Trend(0, 0.0, 0.0, False)
    for span in spans:
        if span > len(hourly):
            break
        tail = [math.log1p(max(v, 0.0)) for v in hourly[-span:]]
        z = mann_kendall_z(tail)
        slope = theil_sen_slope(tail)
        head = tail[: (3 * span) // 4]
        if z >= z_min and slope > 0 and mann_kendall_z(head) >= z_min:
            best = Trend(span, round(z, 4), round(slope, 6), True)
    return best


__all__ = ["Trend", "increasing_hours", "mann_kendall_z", "theil_sen_slope"]
