"""Where RIPE RIS and RouteViews keep their MRT archives, and what each file covers.

Pure: names in, names and times out. No files, no network.

RIPE RIS (``https://data.ris.ripe.net``)::

    {base}/{rrcNN}/{YYYY.MM}/bview.YYYYMMDD.HHMM.gz     RIB dump, every 8 h (00:00, 08:00, 16:00)
    {base}/{rrcNN}/{YYYY.MM}/updates.YYYYMMDD.HHMM.gz   updates, every 5 min, covering [HHMM, HHMM+5min)

RouteViews (``https://archive.routeviews.org``)::

    {base}/bgpdata/{YYYY.MM}/RIBS/rib.YYYYMMDD.HHMM.bz2                    route-views2 (no collector dir)
    {base}/{collector}/bgpdata/{YYYY.MM}/RIBS/rib.YYYYMMDD.HHMM.bz2        every 2 h
    {base}/{collector}/bgpdata/{YYYY.MM}/UPDATES/updates.YYYYMMDD.HHMM.bz2 every 15 min

History (see docs/backfill.md for the evidence): early files were cut at irregular minutes and RIS
update files then spanned 15 minutes (RIS rrc01 ``updates.20070211.0141`` covers 01:41–01:56, rrc00
``updates.20071015.1505`` already 15:05–15:10 on the 5-minute grid; RouteViews
``rib.20080501.0644``). For such *irregular eras* a plan needs the archive's directory listing;
for regular eras the names follow from the clock. RouteViews MRT data begins in 2001-11 (older
``oix-route-views`` files are text snapshots, not MRT); RIS begins in 1999-09.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

from outagewatch.backfill.collectors import Collector, Project

Kind = Literal["rib", "updates"]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class LayoutError(ValueError):
    """A window or name that no archive layout can serve."""


@dataclass(frozen=True, slots=True)
class Era:
    """A stretch of an archive's history with one dump schedule."""

    since: datetime
    rib_every: timedelta
    updates_every: timedelta
    regular: bool
    """File times sit on the grid (multiples of the interval from midnight): names are predictable."""


def _utc(y: int, m: int, d: int = 1) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


ERAS: Final[dict[Project, tuple[Era, ...]]] = {
    "ris": (
        Era(_utc(1999, 9), timedelta(hours=8), timedelta(minutes=15), regular=False),
        Era(_utc(2008, 1), timedelta(hours=8), timedelta(minutes=5), regular=True),
    ),
    "routeviews": (
        Era(_utc(2001, 11), timedelta(hours=2), timedelta(minutes=15), regular=False),
        Era(_utc(2010, 1), timedelta(hours=2), timedelta(minutes=15), regular=True),
    ),
}


def era(project: Project, at: datetime) -> Era:
    """The schedule in force at ``at``; a clear error before the archive begins."""
    eras = ERAS[project]
    if at < eras[0].since:
        what = "RouteViews MRT archives begin" if project == "routeviews" else "RIS archives begin"
        raise LayoutError(f"{what} on {eras[0].since:%Y-%m-%d}; nothing to fetch for {at:%Y-%m-%d %H:%M}")
    return [e for e in eras if e.since <= at][-1]


@dataclass(frozen=True, slots=True, order=True)
class ArchiveFile:
    """One archive file: what it holds and the time span it covers (``end`` == ``start`` for RIBs)."""

    start: datetime
    kind: Kind
    collector: str
    path: str
    """Path below the base URL, e.g. ``rrc00/2022.02/updates.20220206.0725.gz``."""
    end: datetime

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def url(self, base: str) -> str:
        return join_url(base, self.path)


def join_url(base: str, path: str) -> str:
    """``base`` (URL, ``file://`` URL or local directory) joined with a relative archive path."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def month_dir(c: Collector, at: datetime) -> str:
    """``rrc00/2022.02`` or ``route-views.linx/bgpdata/2022.02``."""
    return f"{c.directory}/{at:%Y.%m}"


def listing_dirs(c: Collector, at: datetime) -> tuple[str, ...]:
    """The directories whose listings hold a month's files (RouteViews splits RIBS/UPDATES)."""
    month = month_dir(c, at)
    if c.project == "ris":
        return (month,)
    return (f"{month}/RIBS", f"{month}/UPDATES")


def file_path(c: Collector, kind: Kind, at: datetime) -> str:
    """The archive path of the ``kind`` file stamped ``at``."""
    stamp = f"{at:%Y%m%d.%H%M}"
    month = month_dir(c, at)
    if c.project == "ris":
        return f"{month}/{'bview' if kind == 'rib' else 'updates'}.{stamp}.gz"
    if kind == "rib":
        return f"{month}/RIBS/rib.{stamp}.bz2"
    return f"{month}/UPDATES/updates.{stamp}.bz2"


def archive_file(c: Collector, kind: Kind, at: datetime, path: str | None = None) -> ArchiveFile:
    """The file stamped ``at`` with its span from the era's schedule."""
    end = at if kind == "rib" else at + era(c.project, at).updates_every
    return ArchiveFile(at, kind, c.name, path or file_path(c, kind, at), end)


_NAME = re.compile(r"^(bview|rib|rib6|updates|update)\.(\d{8})\.(\d{4})(?:\.(gz|bz2))?$")


def parse_name(name: str) -> tuple[Kind, datetime] | None:
    """``("rib"|"updates", time)`` for an archive file name, ``None`` for anything else."""
    m = _NAME.match(name)
    if not m:
        return None
    try:
        at = datetime.strptime(m.group(2) + m.group(3), "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    kind: Kind = "updates" if m.group(1).startswith("update") else "rib"
    return kind, at


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def listing_names(html: str) -> list[str]:
    """Archive file names linked from a directory-index page (Apache, nginx, ``http.server``)."""
    parser = _Links()
    parser.feed(html)
    names = (unquote(urlsplit(h).path).rstrip("/").rsplit("/", 1)[-1] for h in parser.hrefs)
    return sorted({n for n in names if parse_name(n)})


def files_from_listing(c: Collector, directory: str, names: list[str]) -> list[ArchiveFile]:
    """The archive files among ``names`` found in ``directory`` (a path below the base)."""
    out: list[ArchiveFile] = []
    for name in names:
        parsed = parse_name(name)
        if parsed is None:
            continue
        kind, at = parsed
        try:
            out.append(archive_file(c, kind, at, f"{directory}/{name}"))
        except LayoutError:
            continue
    return sorted(out)


def floor_to(at: datetime, every: timedelta) -> datetime:
    """``at`` rounded down to the grid of ``every`` counted from the epoch (so from midnight UTC)."""
    step = int(every.total_seconds())
    secs = int((at - EPOCH).total_seconds())
    return EPOCH + timedelta(seconds=secs - secs % step)


def _require_regular(c: Collector, at: datetime) -> Era:
    e = era(c.project, at)
    if not e.regular:
        raise LayoutError(
            f"{c.name}: files around {at:%Y-%m-%d %H:%M} were cut at irregular times; "
            "planning this window needs the archive's directory listing"
        )
    return e


def nominal_rib_at_or_before(c: Collector, at: datetime) -> ArchiveFile:
    """The scheduled RIB dump at or before ``at`` (regular eras only)."""
    e = _require_regular(c, at)
    return archive_file(c, "rib", floor_to(at, e.rib_every))


def nominal_files(c: Collector, kind: Kind, start: datetime, end: datetime) -> list[ArchiveFile]:
    """Scheduled files of ``kind`` whose span meets ``[start, end)`` (RIBs: stamped in it)."""
    out: list[ArchiveFile] = []
    at = start
    while at < end:
        e = _require_regular(c, at)
        every = e.rib_every if kind == "rib" else e.updates_every
        t = floor_to(at, every)
        if kind == "rib" and t < start:
            t += every
        if t < end:
            out.append(archive_file(c, kind, t))
        at = t + every
    return out
