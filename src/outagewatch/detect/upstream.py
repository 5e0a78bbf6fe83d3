"""Upstream detectors: a change of the dominant upstream, and single-upstream dependency.

Upstream = the AS just before the origin in the AS path; the signals give each upstream's share of
the entity's (peer, prefix) routes (``upstream.<asn>.share``). Bins without any route (during an
outage) and incomplete bins leave both detectors unchanged.

* ``upstream_change``: a different upstream holds the largest share for ``k_bins`` bins with a
  lead of at least ``min_margin`` over the previous dominant one, or the dominant upstream's share
  falls by ``share_drop`` from its settled level for ``k_bins`` bins. A point event: it opens and
  closes at the first bin of the change.
* ``single_upstream`` (fragility): one upstream carries ≥ ``single_share`` of the routes for
  ``single_bins`` bins; open while it lasts, closed at the first bin where it no longer does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from outagewatch.detect.event import Event
from outagewatch.detect.evolve import evolve
from outagewatch.detect.point import Point


@dataclass(frozen=True)
class UpstreamParams:
    k_bins: int = 6
    min_margin: float = 0.2
    share_drop: float = 0.3
    single_share: float = 0.99
    single_bins: int = 12
    single_entity_types: tuple[str, ...] = ("country",)


@dataclass(frozen=True)
class UpstreamState:
    dominant: str | None = None
    settled_share: float = 0.0
    settled: Mapping[str, float] = field(default_factory=dict)
    candidate: str | None = None
    candidate_start: int = 0
    candidate_bins: int = 0
    single: str | None = None
    single_start: int = 0
    single_bins: int = 0
    single_open: bool = False


def _top(shares: Mapping[str, float]) -> tuple[str, float]:
    """The upstream with the largest share (the smallest ASN text among equals)."""
    if len(shares) == 1:
        return next(iter(shares.items()))
    best = max(shares.values())
    asn = min(a for a, v in shares.items() if v == best)
    return asn, best


def step(
    state: UpstreamState, point: Point, entity_type: str, entity: str, p: UpstreamParams
) -> tuple[UpstreamState, list[Event]]:
    """Advance both upstream detectors of one entity by one bin."""
    shares = point.upstream_shares()
    if not point.complete or not shares:
        return state, []
    top = _top(shares)
    state, events = _change(state, point, shares, top, entity_type, entity, p)
    if entity_type in p.single_entity_types:
        state, more = _single(state, point, shares, top, entity_type, entity, p)
        events.extend(more)
    return state, events


def _change(
    state: UpstreamState,
    point: Point,
    shares: dict[str, float],
    top_of: tuple[str, float],
    entity_type: str,
    entity: str,
    p: UpstreamParams,
) -> tuple[UpstreamState, list[Event]]:
    top, top_share = top_of
    if state.dominant is None:
        return evolve(state, dominant=top, settled_share=top_share, settled=shares), []
    dom_share = shares.get(state.dominant, 0.0)
    switched = top != state.dominant and top_share - dom_share >= p.min_margin
    dropped = dom_share <= state.settled_share - p.share_drop
    if not (switched or dropped):
        settled = (
            0.9 * state.settled_share + 0.1 * dom_share if top == state.dominant else state.settled_share
        )
        if (
            state.candidate is None
            and state.candidate_bins == 0
            and settled == state.settled_share
            and shares == state.settled
        ):
            return state, []  # nothing moved: the steady state of almost every bin
        return evolve(state, candidate=None, candidate_bins=0, settled_share=settled, settled=shares), []
    key = top if switched else f"-{state.dominant}"
    if state.candidate != key:
        state = evolve(state, candidate=key, candidate_start=point.bin_start, candidate_bins=0)
    state = evolve(state, candidate_bins=state.candidate_bins + 1)
    if state.candidate_bins < p.k_bins:
        return state, []
    start = state.candidate_start
    before = dict(state.settled)
    old, old_share = state.dominant, state.settled_share
    if switched:
        summary = f"upstream change: AS{old} ({old_share:.0%}) → AS{top} ({top_share:.0%})"
    else:
        summary = f"upstream change: share of AS{old} fell from {old_share:.0%} to {dom_share:.0%}"
    moved = max(top_share - dom_share, old_share - dom_share)
    evidence = {
        "from": {"asn": old, "share": old_share},
        "to": {"asn": top, "share": top_share},
        "shares_before": before,
        "shares_after": shares,
        "change": "switch" if switched else "share_drop",
    }
    sev = "high" if switched and top_share >= 0.9 else "medium"
    ev = Event(
        "upstream_change",
        entity_type,
        entity,
        start,
        start,
        sev,
        round(moved, 6),
        summary,
        point.bin_start,
        "closed",
        None,
        evidence,
    )
    state = evolve(
        state, dominant=top, settled_share=top_share, settled=shares, candidate=None, candidate_bins=0
    )
    return state, [ev]


def _single(
    state: UpstreamState,
    point: Point,
    shares: dict[str, float],
    top_of: tuple[str, float],
    entity_type: str,
    entity: str,
    p: UpstreamParams,
) -> tuple[UpstreamState, list[Event]]:
    top, top_share = top_of
    single = top if top_share >= p.single_share else None
    if single is not None and state.single_open and single == state.single:
        return state, []  # open and unchanged: the bin count no longer matters
    events: list[Event] = []
    if state.single_open and single != state.single:
        events.append(
            _single_event(state, point.bin_start, point.bin_start, "closed", shares, entity_type, entity)
        )
        state = evolve(state, single_open=False)
    if single is None:
        return evolve(state, single=None, single_bins=0), events
    if single != state.single:
        state = evolve(state, single=single, single_start=point.bin_start, single_bins=0)
    state = evolve(state, single_bins=state.single_bins + 1)
    if not state.single_open and state.single_bins >= p.single_bins:
        state = evolve(state, single_open=True)
        events.append(_single_event(state, None, point.bin_start, "opened", shares, entity_type, entity))
    return state, events


def _single_event(
    state: UpstreamState,
    end: int | None,
    at: int,
    transition: str,
    shares: Mapping[str, float],
    entity_type: str,
    entity: str,
) -> Event:
    asn = state.single or ""
    share = shares.get(asn, 0.0) if end is None else state.settled.get(asn, 0.0)
    summary = f"single upstream: AS{asn} carries {share:.0%} of routes"
    evidence = {"upstream": asn, "share": share, "shares": dict(shares)}
    return Event(
        "single_upstream",
        entity_type,
        entity,
        state.single_start,
        end,
        "low",
        round(share, 6),
        summary,
        at,
        transition,
        None,
        evidence,
    )


__all__ = ["UpstreamParams", "UpstreamState", "step"]
