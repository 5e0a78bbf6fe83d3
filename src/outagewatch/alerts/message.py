"""What an alert says and who gets it: the payload, the plain-language text, the filters.

An event's *state* is ``status/severity`` (``open/high``, ``closed/high``): a detector emits an
event every bin while it lasts, but an alert goes out only when that state changes
(deduplication is by ``(event_id, state, channel)``, see :mod:`outagewatch.alerts.dispatch`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from outagewatch.alerts.config import SEVERITIES, AlertConfig, ChannelConfig
from outagewatch.detect.event import Event
from outagewatch.report.phrases import clock, duration

KIND_WORDS = {
    "outage": "Outage",
    "instability": "Routing instability",
    "upstream_change": "Upstream change",
    "single_upstream": "Single-upstream dependency",
}


@dataclass(frozen=True)
class Alert:
    event_id: str
    state: str
    subject: str
    text: str
    url: str
    payload: dict[str, Any]


def event_state(event: Event) -> str:
    return f"{event.status}/{event.severity}"


def entity_label(event: Event) -> str:
    return f"AS{event.entity}" if event.entity_type == "as" else event.entity


def build(event: Event, base_url: str) -> Alert:
    """The alert for one event emission: subject, plain-language text, link and JSON payload."""
    url = f"{base_url}/events/{event.event_id}"
    what = KIND_WORDS.get(event.kind, event.kind)
    scope = f" ({event.scope})" if event.scope else ""
    label = entity_label(event)
    if event.end is None:
        when = f"since {clock(event.start)}, still ongoing at {clock(event.updated_at, event.start)}"
        head = "ONGOING"
    else:
        lasted = duration(event.end - event.start)
        when = f"from {clock(event.start)} to {clock(event.end, event.start)} ({lasted})"
        head = "RESOLVED"
    subject = f"[outagewatch] {head}: {what}{scope} of {label}, {event.severity} severity"
    text = f"{what}{scope} of {label} {when}. Severity {event.severity} (score {event.score:.2f}).\n"
    text += f"{event.summary}\nDetails: {url}\n"
    payload = {
        "event_id": event.event_id,
        "state": event_state(event),
        "transition": event.transition,
        "kind": event.kind,
        "entity_type": event.entity_type,
        "entity": event.entity,
        "start": _iso(event.start),
        "end": None if event.end is None else _iso(event.end),
        "status": event.status,
        "scope": event.scope,
        "severity": event.severity,
        "score": event.score,
        "summary": event.summary,
        "report": text,
        "url": url,
    }
    return Alert(event.event_id, event_state(event), subject, text, url, payload)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def watched(event: Event, cfg: AlertConfig) -> bool:
    """Whether the event's entity is on the watchlist (an empty watchlist watches everything)."""
    if not (cfg.countries or cfg.asns or cfg.prefixes):
        return True
    if event.entity_type == "country":
        return event.entity.upper() in cfg.countries
    if event.entity_type == "as":
        return event.entity in cfg.asns
    if event.entity_type == "prefix":
        try:
            net = ipaddress.ip_network(event.entity, strict=False)
        except ValueError:
            return False
        return any(net.version == w.version and net.subnet_of(w) for w in cfg.prefixes)  # type: ignore[arg-type]
    return False


def in_quiet_hours(cfg: AlertConfig, now: datetime) -> bool:
    if cfg.quiet_hours is None:
        return False
    start, end = cfg.quiet_hours
    minute = now.astimezone(UTC).hour * 60 + now.astimezone(UTC).minute
    return start <= minute < end if start <= end else minute >= start or minute < end


def wanted(event: Event, cfg: AlertConfig, channel: ChannelConfig, now: datetime) -> bool:
    """Every filter at once: kind, watchlist, (channel) minimum severity, quiet hours."""
    if cfg.kinds and event.kind not in cfg.kinds:
        return False
    if not watched(event, cfg):
        return False
    floor = channel.min_severity or cfg.min_severity
    if in_quiet_hours(cfg, now):
        floor = max(floor, cfg.quiet_min_severity, key=rank)
    return rank(event.severity) >= rank(floor)
