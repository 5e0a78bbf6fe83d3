"""Small formatting helpers for plain-language reports: times, durations, numbers, names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

Names = Mapping[tuple[str, str], str]
"""``(entity_type, entity) → name``, e.g. ``("country", "KP") → "North Korea"``."""


def clock(epoch: int, ref: int | None = None) -> str:
    """``16:15 UTC``, with the day (``16:15 UTC 22 Dec``) unless it is ``ref``'s day; the year
    too when it differs from ``ref``'s."""
    t = datetime.fromtimestamp(epoch, UTC)
    if ref is not None:
        r = datetime.fromtimestamp(ref, UTC)
        if t.date() == r.date():
            return f"{t:%H:%M} UTC"
        if t.year == r.year:
            return f"{t:%H:%M} UTC {t.day} {t:%b}"
    return f"{t:%H:%M} UTC {t.day} {t:%b} {t.year}"


def duration(seconds: float) -> str:
    """``2 h 05 m``, ``45 m``, ``3 d 4 h``."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} m"
    return f"{mins} m"


def count(n: float) -> str:
    """``1,024``; fractions (``0.5`` /24-equivalents) keep one decimal."""
    return f"{n:,.0f}" if abs(n - round(n)) < 1e-9 else f"{n:,.1f}"


def plural(n: float, word: str, many: str | None = None) -> str:
    """``1 prefix``, ``4 prefixes`` (``many`` defaults to ``word + "s"``)."""
    return f"{count(n)} {word if abs(n - 1) < 1e-9 else (many or word + 's')}"


def entity_label(entity_type: str, entity: str, names: Names) -> str:
    """``KP (North Korea)``, ``AS131279 (STAR-KP)``, ``175.45.176.0/24``."""
    base = f"AS{entity}" if entity_type == "as" else entity
    name = names.get((entity_type, entity))
    return f"{base} ({name})" if name else base


def as_label(asn: str, names: Names) -> str:
    return entity_label("as", asn, names)


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """A one-line chart of ``values`` scaled from 0 to their maximum."""
    top = max(values, default=0.0)
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, int(v / top * (len(SPARK) - 1) + 0.5))] for v in values)


__all__ = ["Names", "as_label", "clock", "count", "duration", "entity_label", "plural", "sparkline"]
