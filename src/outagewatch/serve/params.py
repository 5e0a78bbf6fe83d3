"""Parsing and checking request parameters: UTC times, ranges, bin sizes, entity kinds.

Downsampling rule (documented in docs/api.md): the store keeps signals at their ingest bin
(300 s by default). A request may ask for a coarser ``bin`` (a multiple of the stored bin);
without one the API picks the smallest bin from :data:`BIN_LADDER` that keeps the answer at
or under :data:`MAX_POINTS` points per metric. Within a coarse bin, counts (``all.*`` churn
metrics) are summed and levels (visibility, peers, upstreams) take the minimum, so a short
outage stays visible at any zoom; ``agg`` overrides the rule.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

from outagewatch.serve.errors import bad_parameter

ENTITY_TYPES: Final[tuple[str, ...]] = ("country", "as", "prefix", "global")
EVENT_KINDS: Final[tuple[str, ...]] = ("outage", "instability", "upstream_change", "single_upstream")
SEVERITIES: Final[tuple[str, ...]] = ("low", "medium", "high", "critical")
EVENT_STATUSES: Final[tuple[str, ...]] = ("open", "closed")
AGGREGATES: Final[tuple[str, ...]] = ("auto", "min", "max", "mean", "sum", "last")

BIN_LADDER: Final[tuple[int, ...]] = (300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_POINTS: Final[int] = 2000
"""Target number of points per metric when the API picks the bin."""
MAX_POINTS_HARD: Final[int] = 20000
"""A request whose explicit ``bin`` would exceed this many points per metric is refused."""
MAX_RANGE: Final[timedelta] = timedelta(days=400)
MAX_METRICS: Final[int] = 64
MAX_PAGE: Final[int] = 500

_METRIC_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+|\.\*)*(\*)?$")


def parse_time(value: str | None, parameter: str) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (naive times are taken as UTC)."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise bad_parameter(
            parameter, f"{value!r} is not an ISO 8601 time (e.g. 2014-12-22T18:00:00Z)"
        ) from None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def iso(when: datetime | None) -> str | None:
    """``2014-12-22T16:15:00Z`` (None stays None)."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_range(start: datetime, end: datetime, max_range: timedelta = MAX_RANGE) -> None:
    """``start < end`` and the range is not longer than ``max_range``."""
    if end <= start:
        raise bad_parameter("end", f"end {iso(end)} is not after start {iso(start)}", "bad_time_range")
    if end - start > max_range:
        days = max_range.days
        raise bad_parameter(
            "end",
            f"range of {(end - start).days} days is longer than the limit of {days} days",
            "range_too_large",
        )


def check_choice(value: str | None, choices: tuple[str, ...], parameter: str) -> None:
    if value is not None and value not in choices:
        raise bad_parameter(parameter, f"{value!r} is not one of {', '.join(choices)}")


def check_metrics(metrics: list[str]) -> list[str]:
    """Metric names or trailing-``*`` patterns, at most :data:`MAX_METRICS`."""
    if len(metrics) > MAX_METRICS:
        raise bad_parameter("metric", f"{len(metrics)} metrics requested; at most {MAX_METRICS}")
    for metric in metrics:
        if not _METRIC_RE.match(metric) or "*" in metric[:-1]:
            raise bad_parameter(
                "metric", f"{metric!r} is not a metric name (e.g. ipv4.visible_slash24.ff_50pct)"
            )
    return metrics


def choose_bin(start: datetime, end: datetime, stored: int, requested: int | None) -> int:
    """The output bin in seconds, following the module's downsampling rule."""
    span = (end - start).total_seconds()
    if requested is not None:
        if requested < stored or requested % stored:
            raise bad_parameter("bin", f"{requested} is not a multiple of the stored bin of {stored} s")
        if span / requested > MAX_POINTS_HARD:
            raise bad_parameter(
                "bin",
                f"{span / requested:.0f} points per metric; at most {MAX_POINTS_HARD}",
                "range_too_large",
            )
        return requested
    for size in BIN_LADDER:
        if size >= stored and size % stored == 0 and span / size <= MAX_POINTS:
            return size
    return max(BIN_LADDER[-1], stored)


def aggregate_for(metric: str, agg: str) -> str:
    """The aggregate applied to ``metric`` under the rule (``agg`` = ``auto``) or the override."""
    if agg != "auto":
        return agg
    return "sum" if metric.startswith("all.") else "min"


def aggregate_sql(agg: str) -> str:
    """The SQL expression over ``value`` (and ``metric``) for ``agg`` (one of :data:`AGGREGATES`)."""
    if agg == "auto":
        return "CASE WHEN starts_with(metric, 'all.') THEN sum(value) ELSE min(value) END"
    if agg == "last":
        return "arg_max(value, bin_start)"
    return f"{agg}(value)"
