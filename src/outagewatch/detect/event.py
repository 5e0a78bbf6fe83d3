"""Events: what the detectors say, with a lifecycle, a severity and evidence.

An event's id is deterministic (sha1 of ``kind|entity_type|entity|start``, first 16 hex digits),
so re-running detection over the same signals yields the same ids and the store upserts instead
of duplicating. A detector emits the same event several times over its life: ``transition`` says
why (``opened``, ``updated``, ``closed``); the last emission is the event's current state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

Kind = Literal["outage", "instability", "upstream_change", "single_upstream"]
Severity = Literal["low", "medium", "high", "critical"]
Transition = Literal["opened", "updated", "closed"]

KINDS: Final[tuple[str, ...]] = ("outage", "instability", "upstream_change", "single_upstream")
SEVERITIES: Final[tuple[str, ...]] = ("low", "medium", "high", "critical")


def event_id(kind: str, entity_type: str, entity: str, start: int) -> str:
    """sha1 of ``kind|entity_type|entity|start`` (start as ISO 8601 UTC), first 16 hex digits."""
    key = f"{kind}|{entity_type}|{entity}|{iso(start)}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def iso(epoch: int) -> str:
    """Epoch seconds as ``2014-12-22T16:15:00Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def severity_of(score: float, cuts: tuple[float, float, float]) -> Severity:
    """``low`` below ``cuts[0]``, ``medium`` below ``cuts[1]``, ``high`` below ``cuts[2]``, else
    ``critical``."""
    if score < cuts[0]:
        return "low"
    if score < cuts[1]:
        return "medium"
    if score < cuts[2]:
        return "high"
    return "critical"


@dataclass(frozen=True)
class Event:
    """One emission of an event (see the module docstring). Times are epoch seconds, UTC."""

    kind: str
    entity_type: str
    entity: str
    start: int
    end: int | None
    severity: str
    score: float
    summary: str
    updated_at: int
    transition: str
    scope: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return event_id(self.kind, self.entity_type, self.entity, self.start)

    @property
    def status(self) -> str:
        return "open" if self.end is None else "closed"

    def row(self) -> dict[str, Any]:
        """The event as a row of the ``events`` table (times as aware datetimes)."""
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "entity_type": self.entity_type,
            "entity": self.entity,
            "start": datetime.fromtimestamp(self.start, UTC),
            "end": None if self.end is None else datetime.fromtimestamp(self.end, UTC),
            "status": self.status,
            "scope": self.scope,
            "severity": self.severity,
            "score": self.score,
            "summary": self.summary,
            "evidence": dict(self.evidence),
            "updated_at": datetime.fromtimestamp(self.updated_at, UTC),
        }


def latest(events: Iterable[Event]) -> list[Event]:
    """The last emission of every event id, ordered by (start, kind, entity)."""
    last: dict[str, Event] = {}
    for ev in events:
        last[ev.event_id] = ev
    return sorted(last.values(), key=lambda e: (e.start, e.kind, e.entity_type, e.entity))


__all__ = [
    "KINDS",
    "SEVERITIES",
    "Event",
    "Kind",
    "Severity",
    "Transition",
    "event_id",
    "iso",
    "latest",
    "severity_of",
]
