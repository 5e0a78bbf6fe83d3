"""The story of one entity: its events in a window, told as one plain-language headline.

Pure: events (as :class:`outagewatch.detect.event.Event` values, whatever store they came from)
and names in, sentences out. Context that explains an outage (instability before it, a single
upstream at its start) is looked up among all of the entity's events, inside the window or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from outagewatch.detect.event import Event
from outagewatch.detect.point import V4_PREFIXES, V4_SLASH24, V4_SLASH24_ANY, V6_PREFIXES, V6_SLASH48
from outagewatch.report.phrases import Names, as_label, clock, count, duration, entity_label, plural

PRIMARY = ("outage", "instability", "upstream_change", "single_upstream")
"""Which kind of event makes the headline, first match wins."""
RANK = {"critical": 3, "high": 2, "medium": 1, "low": 0}


@dataclass(frozen=True)
class Query:
    """Which events to tell: an entity (or all), and a moment (``at``) or a window (``start``..``end``).

    ``now`` is the end of the data (the last bin), used for "so far" when ``at`` is not given.
    """

    entity_type: str | None = None
    entity: str | None = None
    at: int | None = None
    start: int | None = None
    end: int | None = None
    now: int | None = None


@dataclass(frozen=True)
class Story:
    entity_type: str
    entity: str
    label: str
    headline: str
    events: tuple[Event, ...] = field(default_factory=tuple)
    context: tuple[Event, ...] = field(default_factory=tuple)


def _active(ev: Event, q: Query) -> bool:
    if q.at is not None:
        return ev.start <= q.at and (ev.end is None or ev.end > q.at or ev.end == ev.start == q.at)
    lo = q.start if q.start is not None else -(2**62)
    hi = q.end if q.end is not None else 2**62
    return ev.start <= hi and (ev.end is None or ev.end >= lo)


def stories(events: Iterable[Event], names: Names, q: Query) -> list[Story]:
    """One story per entity with events in the query (most severe first); a story saying "nothing
    detected" when a single entity was asked for and has none."""
    by_entity: dict[tuple[str, str], list[Event]] = {}
    for ev in events:
        if q.entity_type is not None and (ev.entity_type, ev.entity) != (q.entity_type, q.entity):
            continue
        by_entity.setdefault((ev.entity_type, ev.entity), []).append(ev)
    out = []
    for (et, e), evs in by_entity.items():
        shown = [ev for ev in evs if _active(ev, q)]
        if q.entity_type is None and all(ev.kind == "single_upstream" for ev in shown):
            continue
        if shown:
            out.append(_story(et, e, shown, evs, names, q))
    if not out and q.entity_type is not None and q.entity is not None:
        label = entity_label(q.entity_type, q.entity, names)
        out.append(
            Story(q.entity_type, q.entity, label, f"{label}: no outage or instability detected{_when(q)}")
        )
    return sorted(out, key=_order)


TYPE_ORDER = ("country", "as", "prefix", "global")


def _order(s: Story) -> tuple[int, int, int, str]:
    kinds = [PRIMARY.index(e.kind) for e in s.events]
    worst = max((RANK.get(e.severity, 0) for e in s.events), default=0)
    kind = TYPE_ORDER.index(s.entity_type) if s.entity_type in TYPE_ORDER else len(TYPE_ORDER)
    return (min(kinds, default=9), -worst, kind, s.entity)


def _when(q: Query) -> str:
    if q.at is not None:
        return f" at {clock(q.at)}"
    if q.start is not None and q.end is not None:
        return f" between {clock(q.start)} and {clock(q.end, q.start)}"
    return ""


def _story(et: str, e: str, shown: list[Event], every: list[Event], names: Names, q: Query) -> Story:
    shown = sorted(shown, key=lambda ev: (PRIMARY.index(ev.kind), -ev.start))
    main = shown[0]
    label = entity_label(et, e, names)
    ref = q.at if q.at is not None else (q.now if q.now is not None else main.updated_at)
    context = [ev for ev in every if ev not in shown]
    teller = {
        "outage": _outage,
        "instability": _instability,
        "upstream_change": _upstream_change,
        "single_upstream": _single_upstream,
    }[main.kind]
    headline = f"{label}: {teller(main, every, names, ref)}"
    return Story(et, e, label, headline, tuple(sorted(shown, key=lambda ev: ev.start)), tuple(context))


def _span(ev: Event, ref: int, open_word: str, closed_word: str) -> str:
    if ev.end is None or ev.end > ref:
        return f"{open_word} since {clock(ev.start, ref)} ({duration(max(0, ref - ev.start))} so far)"
    span = f"from {clock(ev.start, ref)} to {clock(ev.end, ev.start)}"
    return f"{closed_word} {span} ({duration(ev.end - ev.start)})"


def _med(evidence: dict[str, Any], metric: str) -> float:
    return float(evidence.get("baseline", {}).get(metric, {}).get("median", 0.0))


def lost_phrase(ev: Event) -> str:
    """``4 of 4 prefixes (1,024 addresses) withdrawn by 100 % of full-feed peers (12 peers)``."""
    evd = dict(ev.evidence)
    mins = evd.get("minimum", {})
    parts = []
    if _med(evd, V4_SLASH24) > 0:
        base_p = _med(evd, V4_PREFIXES)
        lost_p = max(0.0, base_p - float(mins.get(V4_PREFIXES, base_p)))
        addrs = float(evd.get("lost", {}).get(V4_SLASH24, 0.0)) * 256
        parts.append(
            f"{count(lost_p)} of {plural(base_p, 'prefix', 'prefixes')}"
            f" ({plural(addrs, 'address', 'addresses')})"
        )
    if _med(evd, V6_SLASH48) > 0:
        base6 = _med(evd, V6_PREFIXES)
        lost6 = max(0.0, base6 - float(mins.get(V6_PREFIXES, base6)))
        parts.append(f"{count(lost6)} of {count(base6)} IPv6 prefixes")
    what = " and ".join(parts) or f"{ev.score:.0%} of visible address space"
    lost24 = float(evd.get("lost", {}).get(V4_SLASH24, 0.0))
    any_base, any_min = _med(evd, V4_SLASH24_ANY), float(mins.get(V4_SLASH24_ANY, 0.0))
    peers = evd.get("peers", {}).get("count")
    n = f" ({plural(peers, 'peer')})" if peers else ""
    if lost24 > 0 and any_base - any_min >= lost24 - 1e-9:
        return f"{what} withdrawn by 100 % of full-feed peers{n}"
    return f"{what} no longer seen by at least half of the full-feed peers{n}"


def _ratio(r: float) -> str:
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×"


def _outage(ev: Event, every: Sequence[Event], names: Names, ref: int) -> str:
    text = _span(
        ev,
        ref,
        "down hard" if ev.scope == "full" else "partly down",
        "was down hard" if ev.scope == "full" else "was partly down",
    )
    text += f": {lost_phrase(ev)}"
    before = [
        i
        for i in every
        if i.kind == "instability" and i.start < ev.start and (i.end is None or i.end >= ev.start - 3600)
    ]
    if before:
        inst = min(before, key=lambda i: i.start)
        hours = int(inst.evidence.get("trend", {}).get("increasing_hours", 0))
        lead = (
            f"{hours} h of increasing instability"
            if hours
            else f"{duration(ev.start - inst.start)} of instability"
        )
        text += f"; preceded by {lead} (updates {_ratio(inst.score)} baseline)"
    singles = [
        s
        for s in every
        if s.kind == "single_upstream" and s.start <= ev.start and (s.end is None or s.end >= ev.start)
    ]
    if singles:
        text += f"; single upstream {as_label(str(singles[-1].evidence.get('upstream', '')), names)}"
    return text


def _instability(ev: Event, every: Sequence[Event], names: Names, ref: int) -> str:
    hours = int(ev.evidence.get("trend", {}).get("increasing_hours", 0))
    trend = f", increasing for {hours} h" if hours else ""
    per = float(ev.evidence.get("peak_per_prefix_hour", 0.0))
    return (
        f"{_span(ev, ref, 'unstable', 'was unstable')}: updates {_ratio(ev.score)} baseline"
        f" (up to {per:.1f} per prefix per hour{trend})"
    )


def _upstream_change(ev: Event, every: Sequence[Event], names: Names, ref: int) -> str:
    a, b = ev.evidence.get("from", {}), ev.evidence.get("to", {})
    old = f"{as_label(str(a.get('asn')), names)}, {float(a.get('share', 0)):.0%} of routes"
    if ev.evidence.get("change") == "share_drop":
        now = f"{float(b.get('share', 0)):.0%} via {as_label(str(b.get('asn')), names)}"
        return f"upstream mix changed at {clock(ev.start, ref)}: {old} before, now {now}"
    new = f"{as_label(str(b.get('asn')), names)}, {float(b.get('share', 0)):.0%}"
    return f"upstream changed at {clock(ev.start, ref)} from {old} to {new}"


def _single_upstream(ev: Event, every: Sequence[Event], names: Names, ref: int) -> str:
    up = as_label(str(ev.evidence.get("upstream", "")), names)
    share = float(ev.evidence.get("share", 0.0))
    until = "" if ev.end is None or ev.end > ref else f" until {clock(ev.end, ref)}"
    return f"single upstream {up} carries {share:.0%} of routes since {clock(ev.start, ref)}{until}"


__all__ = ["PRIMARY", "Query", "Story", "lost_phrase", "stories"]
