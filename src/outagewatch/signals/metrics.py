"""Metric names, following the grammar in docs/architecture.md (``family.measure[.qualifier]``)."""

from __future__ import annotations

import re
from typing import Final

FF_THRESHOLDS: Final = ("ff_any", "ff_25pct", "ff_50pct", "ff_75pct", "ff_100pct")
ASN_THRESHOLDS: Final = ("asn_25pct", "asn_50pct", "asn_75pct", "asn_100pct")
THRESHOLDS: Final = FF_THRESHOLDS + ASN_THRESHOLDS
"""Visibility thresholds. Level codes: ff_any ↔ 1, *_25pct ↔ 2, *_50pct ↔ 3, *_75pct ↔ 4, *_100pct ↔ 5."""

FAMILIES: Final = {4: "ipv4", 6: "ipv6"}
UNIT_MEASURE: Final = {4: "visible_slash24", 6: "visible_slash48"}

CHURN: Final = ("announcements", "withdrawals", "duplicate_announcements", "path_changes", "updates")
CHURN_METRICS: Final = tuple(f"all.{m}" for m in CHURN)
PEERS_REPORTING: Final = "all.peers_reporting"
FULL_FEED: Final = {4: "ipv4.full_feed_peers", 6: "ipv6.full_feed_peers"}
UPSTREAM_COUNT: Final = "upstream.count"

ENTITY_TYPES: Final = ("country", "as", "prefix", "global")
GLOBAL_ENTITY: Final = "all"


def visibility_metrics(afi: int) -> tuple[str, ...]:
    """The visibility metrics of one family, in a fixed order: prefixes × thresholds, then units."""
    fam = FAMILIES[afi]
    return tuple(f"{fam}.visible_prefixes.{t}" for t in THRESHOLDS) + tuple(
        f"{fam}.{UNIT_MEASURE[afi]}.{t}" for t in THRESHOLDS
    )


def upstream_routes(asn: int) -> str:
    return f"upstream.{asn}.routes"


def upstream_share(asn: int) -> str:
    return f"upstream.{asn}.share"


def is_max_merged(metric: str) -> bool:
    """State metrics that merge by maximum across views (visibility); all others merge by sum."""
    return ".visible_" in metric


_PATTERNS: Final = (
    *(re.escape(m) for afi in (4, 6) for m in visibility_metrics(afi)),
    *(re.escape(m) for m in FULL_FEED.values()),
    *(re.escape(m) for m in CHURN_METRICS),
    re.escape(PEERS_REPORTING),
    r"upstream\.\d+\.routes",
    r"upstream\.\d+\.share",
    re.escape(UPSTREAM_COUNT),
)
METRIC_RE: Final = re.compile("^(?:" + "|".join(_PATTERNS) + ")$")


def catalogue() -> tuple[str, ...]:
    """Every metric name the engine can emit (``<asn>`` stands for any upstream ASN)."""
    names = [m for afi in (4, 6) for m in visibility_metrics(afi)]
    names += list(FULL_FEED.values()) + list(CHURN_METRICS) + [PEERS_REPORTING]
    names += ["upstream.<asn>.routes", "upstream.<asn>.share", UPSTREAM_COUNT]
    return tuple(names)


def is_known(metric: str) -> bool:
    return METRIC_RE.match(metric) is not None
