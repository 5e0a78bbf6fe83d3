"""An entity's status at a time, from the events active then, and a readable event text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

STATUSES: Final[tuple[str, ...]] = ("outage", "partial", "unstable", "normal")
"""Worst first; the overview sorts by this order."""


def status_of(events: Iterable[Mapping[str, Any]]) -> str:
    """``outage`` (a full outage), ``partial`` (a partial outage), ``unstable`` (instability or an
    upstream change) or ``normal``, from the events active for one entity at one time."""
    found = {"normal"}
    for ev in events:
        if ev["kind"] == "outage":
            found.add("partial" if ev.get("scope") == "partial" else "outage")
        elif ev["kind"] in ("instability", "upstream_change"):
            found.add("unstable")
    return next(s for s in STATUSES if s in found)


def status_rank(status: str) -> int:
    return STATUSES.index(status) if status in STATUSES else len(STATUSES)


def fallback_report(event: Mapping[str, Any]) -> str:
    """Plain text for an event when no report renderer is available: summary, times, evidence."""
    lines = [str(event["summary"]), ""]
    lines.append(f"Kind: {event['kind']} ({event.get('scope') or 'n/a'}), severity {event['severity']}")
    lines.append(f"Entity: {event['entity_type']} {event['entity']}")
    lines.append(f"Start: {event['start']}")
    lines.append(f"End: {event['end'] or 'still open'}")
    if event.get("duration_seconds") is not None:
        lines.append(f"Duration: {format_duration(int(event['duration_seconds']))}")
    evidence = event.get("evidence") or {}
    prefixes = affected_prefixes(evidence)
    if prefixes:
        lines.append(f"Affected prefixes: {', '.join(prefixes)}")
    for key, value in evidence.items():
        if key not in ("prefixes", "affected_prefixes") and isinstance(value, str | int | float):
            lines.append(f"{key.replace('_', ' ').capitalize()}: {value}")
    return "\n".join(lines)


def affected_prefixes(evidence: Mapping[str, Any]) -> list[str]:
    """Prefixes named by an event's evidence (``affected_prefixes`` or ``prefixes``)."""
    for key in ("affected_prefixes", "prefixes", "lost_prefixes"):
        value = evidence.get(key)
        if isinstance(value, list):
            return [str(p if not isinstance(p, Mapping) else p.get("prefix", p)) for p in value]
    return []


def format_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
