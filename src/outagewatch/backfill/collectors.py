"""The public route collectors of RIPE RIS and RouteViews, and where their archives live.

Pure data. Sources: RIPE RIS documentation (ris.ripe.net/docs, "Route collectors": rrc00…rrc26,
historic rrc02/rrc08/rrc09; there was never an rrc17), the RouteViews archive root
(archive.routeviews.org: ``bgpdata/`` for route-views2, ``<collector>/bgpdata/`` for the others)
and the collector lists of the bgpkit-broker and CAIDA BGPStream brokers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Project = Literal["ris", "routeviews"]

RIS_BASE_URL: Final = "https://data.ris.ripe.net"
ROUTEVIEWS_BASE_URL: Final = "https://archive.routeviews.org"

DEFAULT_BASE_URLS: Final[dict[str, str]] = {"ris": RIS_BASE_URL, "routeviews": ROUTEVIEWS_BASE_URL}


@dataclass(frozen=True, slots=True)
class Collector:
    """One route collector: its name, project and archive directory below the project base URL."""

    name: str
    project: Project
    directory: str
    active: bool = True

    def __str__(self) -> str:
        return self.name


_RIS_HISTORIC: Final = frozenset({"rrc02", "rrc08", "rrc09"})
_RIS_NUMBERS: Final = tuple(n for n in range(27) if n != 17)

RIS_COLLECTORS: Final[tuple[Collector, ...]] = tuple(
    Collector(f"rrc{n:02d}", "ris", f"rrc{n:02d}", active=f"rrc{n:02d}" not in _RIS_HISTORIC)
    for n in _RIS_NUMBERS
)

_ROUTEVIEWS_NAMES: Final[tuple[str, ...]] = (
    "route-views3",
    "route-views4",
    "route-views5",
    "route-views6",
    "route-views.amsix",
    "route-views.bdix",
    "route-views.bknix",
    "route-views.chicago",
    "route-views.chile",
    "route-views.eqix",
    "route-views.flix",
    "route-views.fortaleza",
    "route-views.gixa",
    "route-views.gorex",
    "route-views.isc",
    "route-views.jinx",
    "route-views.kixp",
    "route-views.linx",
    "route-views.mwix",
    "route-views.napafrica",
    "route-views.nwax",
    "route-views.ny",
    "route-views.perth",
    "route-views.peru",
    "route-views.phoix",
    "route-views.rio",
    "route-views.saopaulo",
    "route-views2.saopaulo",
    "route-views.sfmix",
    "route-views.sg",
    "route-views.siex",
    "route-views.soxrs",
    "route-views.sydney",
    "route-views.telxatl",
    "route-views.uaeix",
    "route-views.wide",
)

ROUTEVIEWS_COLLECTORS: Final[tuple[Collector, ...]] = (
    # route-views2 is the original collector: its archive sits at the root, without a collector dir.
    Collector("route-views2", "routeviews", "bgpdata"),
    *(Collector(name, "routeviews", f"{name}/bgpdata") for name in _ROUTEVIEWS_NAMES),
)

COLLECTORS: Final[dict[str, Collector]] = {c.name: c for c in RIS_COLLECTORS + ROUTEVIEWS_COLLECTORS}

_ALIASES: Final[dict[str, str]] = {"route-views": "route-views2", "routeviews2": "route-views2"}


class UnknownCollectorError(ValueError):
    """A collector name that is neither a known RIS nor RouteViews collector."""


def collector(name: str) -> Collector:
    """The collector called ``name`` (``rrc00``, ``route-views2``, ``route-views.linx``, ...).

    Unknown ``rrcNN`` and ``route-views*`` names are accepted with the project's regular layout,
    so a collector newer than this list still works.
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key in COLLECTORS:
        return COLLECTORS[key]
    if key.startswith("rrc") and key[3:].isdigit():
        return Collector(key, "ris", key)
    if key.startswith(("route-views", "crix.", "pacwave.")):
        return Collector(key, "routeviews", f"{key}/bgpdata")
    known = ", ".join(sorted(COLLECTORS))
    raise UnknownCollectorError(f"unknown collector {name!r}; known collectors: {known}")


def parse_collectors(spec: str) -> tuple[Collector, ...]:
    """A comma-separated list of names; ``ris`` / ``routeviews`` / ``all`` expand to active collectors."""
    out: list[Collector] = []
    for raw in spec.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if name in ("ris", "all"):
            out.extend(c for c in RIS_COLLECTORS if c.active)
        if name in ("routeviews", "all"):
            out.extend(ROUTEVIEWS_COLLECTORS)
        if name not in ("ris", "routeviews", "all"):
            out.append(collector(name))
    unique = dict.fromkeys(out)
    if not unique:
        raise UnknownCollectorError(f"no collectors in {spec!r}")
    return tuple(unique)
