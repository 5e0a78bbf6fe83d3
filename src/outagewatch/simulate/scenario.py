"""The declarative scenario model: collectors and peers, prefixes, background churn, timed events.

A scenario is plain frozen dataclasses; :mod:`outagewatch.simulate.scenario_toml` loads and dumps
it as TOML. All times are timezone-aware UTC datetimes; the window is ``[start, end)``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

EventKind = Literal["outage", "flap", "upstream_switch", "peer_down"]
EVENT_KINDS: Final[tuple[str, ...]] = ("outage", "flap", "upstream_switch", "peer_down")


@dataclass(frozen=True)
class Peer:
    """A BGP peer of a collector. ``feed`` is the share of prefixes it carries (1.0 = full feed)."""

    ip: str
    asn: int
    feed: float = 1.0

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.ip).version


@dataclass(frozen=True)
class Collector:
    """A route collector: its name (the output folder), its own AS and addresses, its peers."""

    name: str
    peers: tuple[Peer, ...]
    local_asn: int = 12654
    bgp_id: str = "193.0.4.28"
    local_ip4: str = "193.0.4.28"
    local_ip6: str = "2001:67c:2e8::4"


@dataclass(frozen=True)
class PrefixSpec:
    """A routed prefix: origin AS, the upstream AS(es) it is reached through, its country."""

    prefix: str
    origin: int
    upstreams: tuple[int, ...]
    country: str

    @property
    def version(self) -> int:
        return ipaddress.ip_network(self.prefix).version


@dataclass(frozen=True)
class Churn:
    """Background churn: expected cycles per bin per collector (Poisson, seeded).

    ``withdrawals``: a (peer, prefix) withdrawn and announced again after a delay;
    ``path_changes``: announced over an alternate path, back after a delay;
    ``duplicates``: the same route announced again. Delays are uniform in [30 s, ``max_delay``].
    Every bin gets at least ``min_per_bin`` duplicates, so that no update file is empty (a live
    collector always has some traffic, and empty files trip some readers).
    """

    withdrawals: float = 0.0
    path_changes: float = 0.0
    duplicates: float = 0.0
    max_delay: int = 900
    min_per_bin: int = 1


@dataclass(frozen=True)
class Event:
    """A timed event. Scope: ``country``, ``asn`` or explicit ``prefixes`` (any combination, united).

    - ``outage``: the scoped prefixes withdrawn at ``start`` by the peers, announced again at ``end``
      (``share_prefixes`` / ``share_peers`` below 1 make it partial);
    - ``flap``: flaps rising linearly from ``rate_start`` to ``rate_end`` per prefix per hour over
      [start, end); a share ``path_change_share`` of them are path changes, the rest withdraw and
      re-announce within the same bin; seen by ``share_peers`` of the peers;
    - ``upstream_switch``: from ``start`` (until ``end`` if given) routes go through ``upstreams``;
    - ``peer_down``: the session of ``peer`` (address) at ``collector`` goes down at ``start`` and
      comes back at ``end`` with its table re-announced.
    """

    kind: EventKind
    start: datetime
    end: datetime | None = None
    country: str | None = None
    asn: int | None = None
    prefixes: tuple[str, ...] = ()
    share_prefixes: float = 1.0
    share_peers: float = 1.0
    rate_start: float = 0.0
    rate_end: float = 0.0
    path_change_share: float = 0.5
    upstreams: tuple[int, ...] = ()
    collector: str | None = None
    peer: str | None = None
    label: str = ""


@dataclass(frozen=True)
class Splice:
    """Real MRT update files spliced in as background for ``collector``.

    ``paths`` are files or glob patterns (relative paths are resolved by the caller). Files are laid
    end to end from the scenario start, one bin each in name order (``repeat`` cycles them), so a
    gappy archive still gives continuous background; record order within a file is kept.
    """

    collector: str
    paths: tuple[str, ...]
    repeat: bool = True


@dataclass(frozen=True)
class Scenario:
    """A complete scenario."""

    name: str
    start: datetime
    end: datetime
    collectors: tuple[Collector, ...]
    prefixes: tuple[PrefixSpec, ...]
    churn: Churn = Churn()
    events: tuple[Event, ...] = ()
    splice: tuple[Splice, ...] = ()
    description: str = ""
    bin_seconds: int = 300
    rib_every_hours: int = 0
    prefixes_file: str | None = field(default=None, compare=False)

    @property
    def n_bins(self) -> int:
        return int((self.end - self.start) // timedelta(seconds=self.bin_seconds))


def validate(scenario: Scenario) -> None:
    """Raise ``ValueError`` naming the first inconsistency."""
    if scenario.start.tzinfo is None or scenario.end.tzinfo is None:
        raise ValueError(f"scenario {scenario.name}: start and end must be UTC-aware datetimes")
    if scenario.end <= scenario.start or scenario.n_bins < 1:
        raise ValueError(f"scenario {scenario.name}: end must be at least one bin after start")
    if scenario.rib_every_hours < 0 or (scenario.rib_every_hours and 24 % scenario.rib_every_hours):
        raise ValueError(f"scenario {scenario.name}: rib_every_hours must be 0 or divide 24")
    if scenario.bin_seconds <= 0 or 86400 % scenario.bin_seconds:
        raise ValueError(f"scenario {scenario.name}: bin_seconds must divide a day")
    names = [c.name for c in scenario.collectors]
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"scenario {scenario.name}: collector names must be unique and non-empty")
    for c in scenario.collectors:
        if len({p.ip for p in c.peers}) != len(c.peers):
            raise ValueError(f"collector {c.name}: duplicate peer address")
    if len({p.prefix for p in scenario.prefixes}) != len(scenario.prefixes):
        raise ValueError(f"scenario {scenario.name}: duplicate prefix")
    for sp in scenario.splice:
        if sp.collector not in names:
            raise ValueError(f"scenario {scenario.name}: splice into unknown collector {sp.collector!r}")
    for i, ev in enumerate(scenario.events):
        _validate_event(scenario, i, ev, names)


def _validate_event(scenario: Scenario, i: int, ev: Event, names: list[str]) -> None:
    where = f"scenario {scenario.name}, event {i} ({ev.kind})"
    if ev.kind not in EVENT_KINDS:
        raise ValueError(f"{where}: unknown kind")
    if ev.start.tzinfo is None or (ev.end is not None and ev.end.tzinfo is None):
        raise ValueError(f"{where}: times must be UTC-aware")
    if ev.end is not None and ev.end <= ev.start:
        raise ValueError(f"{where}: end must be after start")
    if ev.kind == "peer_down":
        if ev.collector not in names or ev.peer is None:
            raise ValueError(f"{where}: needs an existing collector and a peer address")
    elif not select_prefixes(scenario, ev):
        raise ValueError(f"{where}: scope matches no prefix")
    if ev.kind == "flap" and ev.end is None:
        raise ValueError(f"{where}: a flap needs an end")
    if ev.kind == "upstream_switch" and not ev.upstreams:
        raise ValueError(f"{where}: needs upstreams")
    if not (0.0 < ev.share_prefixes <= 1.0 and 0.0 < ev.share_peers <= 1.0):
        raise ValueError(f"{where}: shares must be in (0, 1]")


def select_prefixes(scenario: Scenario, ev: Event) -> list[int]:
    """Indices of the prefixes in an event's scope (before ``share_prefixes``)."""
    wanted = set(ev.prefixes)
    return [
        i
        for i, p in enumerate(scenario.prefixes)
        if p.prefix in wanted
        or (ev.country is not None and p.country == ev.country)
        or (ev.asn is not None and p.origin == ev.asn)
    ]


def country_map(scenario: Scenario) -> dict[str, str]:
    """prefix → country code, as the scenario declares it."""
    return {p.prefix: p.country for p in scenario.prefixes}
