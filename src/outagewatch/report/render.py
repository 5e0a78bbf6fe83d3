"""Stories rendered as plain text, Markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from outagewatch.detect.event import Event, iso
from outagewatch.detect.point import V4_SLASH24
from outagewatch.report.phrases import clock, sparkline
from outagewatch.report.story import Story

FORMATS: Final[tuple[str, ...]] = ("text", "markdown", "json")


def _event_line(ev: Event) -> str:
    end = "open" if ev.end is None else clock(ev.end, ev.start)
    scope = f"{ev.scope}, " if ev.scope else ""
    return f"{ev.kind} ({scope}{ev.severity}) {clock(ev.start)} → {end} [{ev.event_id}]: {ev.summary}"


def _slice_line(ev: Event) -> str | None:
    sl = ev.evidence.get("slice", {})
    values = sl.get("metrics", {}).get(V4_SLASH24)
    if ev.kind != "outage" or not values:
        return None
    points = [float(v) for v in values]
    step = max(1, -(-len(points) // 72))
    shown = [min(points[i : i + step]) for i in range(0, len(points), step)]
    per = f", {step} bins per mark" if step > 1 else ""
    return f"visible /24s from {clock(int(sl['from']))}{per}: {sparkline(shown)}"


def render_text(stories: Sequence[Story]) -> str:
    """One headline per entity, its events indented below."""
    lines: list[str] = []
    for s in stories:
        lines.append(s.headline)
        for ev in s.events:
            lines.append(f"  - {_event_line(ev)}")
            spark = _slice_line(ev)
            if spark:
                lines.append(f"    {spark}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_markdown(stories: Sequence[Story]) -> str:
    """A section per entity: the headline in bold, then a table of its events."""
    out: list[str] = []
    for s in stories:
        out += [f"### {s.label}", "", f"**{s.headline}**", ""]
        if not s.events:
            continue
        out += ["| kind | scope | severity | start | end | summary | id |", "|---|---|---|---|---|---|---|"]
        for ev in s.events:
            end = "open" if ev.end is None else iso(ev.end)
            out.append(
                f"| {ev.kind} | {ev.scope or ''} | {ev.severity} | {iso(ev.start)} | {end} "
                f"| {ev.summary} | `{ev.event_id}` |"
            )
        sparks = [sp for sp in (_slice_line(ev) for ev in s.events) if sp]
        out += ["", *(f"`{sp}`" for sp in sparks)] if sparks else []
        out.append("")
    return "\n".join(out)


def event_json(ev: Event) -> dict[str, Any]:
    return {
        "event_id": ev.event_id,
        "kind": ev.kind,
        "entity_type": ev.entity_type,
        "entity": ev.entity,
        "start": iso(ev.start),
        "end": None if ev.end is None else iso(ev.end),
        "status": ev.status,
        "scope": ev.scope,
        "severity": ev.severity,
        "score": ev.score,
        "summary": ev.summary,
        "evidence": dict(ev.evidence),
        "updated_at": iso(ev.updated_at),
    }


def render_json(stories: Sequence[Story]) -> str:
    """``{"entities": [{entity_type, entity, label, headline, events: [...]}, ...]}``."""
    doc = {
        "entities": [
            {
                "entity_type": s.entity_type,
                "entity": s.entity,
                "label": s.label,
                "headline": s.headline,
                "events": [event_json(ev) for ev in s.events],
            }
            for s in stories
        ]
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render(stories: Sequence[Story], fmt: str) -> str:
    """``fmt`` is one of :data:`FORMATS`."""
    if fmt == "text":
        return render_text(stories)
    if fmt == "markdown":
        return render_markdown(stories)
    if fmt == "json":
        return render_json(stories)
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "event_json", "render", "render_json", "render_markdown", "render_text"]
