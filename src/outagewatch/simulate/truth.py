"""Ground truth: the events a scenario injects, as detection should report them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from outagewatch.simulate.scenario import Event, Scenario, select_prefixes

_KIND = {
    "outage": "outage",
    "flap": "instability",
    "upstream_switch": "upstream_change",
    "peer_down": "peer_down",
}


@dataclass(frozen=True)
class TruthEvent:
    """One injected event.

    ``kind``: ``outage``, ``instability``, ``upstream_change`` or ``peer_down``; ``scope``: ``full``
    or ``partial`` (share of prefixes or peers below 1); ``entity_type``/``entity`` follow the
    signal table (``country``/``KP``, ``as``/``131279``, ``prefix``/``175.45.176.0/24``,
    ``peer``/``rrc00|192.0.2.1``); ``end`` is None when the event lasts past the window.
    """

    kind: str
    entity_type: str
    entity: str
    start: datetime
    end: datetime | None
    scope: str
    prefixes: int
    label: str = ""


def _entities(scenario: Scenario, ev: Event) -> list[tuple[str, str]]:
    if ev.kind == "peer_down":
        return [("peer", f"{ev.collector}|{ev.peer}")]
    out: list[tuple[str, str]] = []
    if ev.country is not None:
        out.append(("country", ev.country))
    if ev.asn is not None:
        out.append(("as", str(ev.asn)))
    out += [("prefix", p) for p in ev.prefixes]
    return out


def ground_truth(scenario: Scenario) -> list[TruthEvent]:
    """The scenario's injected events, one row per entity named in an event's scope."""
    out: list[TruthEvent] = []
    for ev in scenario.events:
        partial = ev.kind == "outage" and (ev.share_prefixes < 1.0 or ev.share_peers < 1.0)
        n = 0 if ev.kind == "peer_down" else len(select_prefixes(scenario, ev))
        if ev.kind != "peer_down":
            n = max(1, round(n * ev.share_prefixes))
        end = ev.end if ev.end is None or ev.end < scenario.end else None
        for etype, entity in _entities(scenario, ev):
            scope = "partial" if partial else "full"
            out.append(TruthEvent(_KIND[ev.kind], etype, entity, ev.start, end, scope, n, ev.label))
    return out
