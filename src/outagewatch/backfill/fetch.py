"""The download half of ``outagewatch backfill``: window → plan → files on local disk.

Thin shell over :mod:`~outagewatch.backfill.discover` and :mod:`~outagewatch.backfill.download`:
it resolves base URLs per project, plans from listings (or the cache when offline), fetches, and
returns a plan restricted to the files that are actually on disk, with what is missing recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from outagewatch.backfill.collectors import DEFAULT_BASE_URLS, Collector
from outagewatch.backfill.discover import discover_plan
from outagewatch.backfill.download import Cache, FetchOptions, FetchResult, fetch_all
from outagewatch.backfill.layout import ArchiveFile
from outagewatch.backfill.plan import CollectorPlan, Plan


class BaseUrlError(ValueError):
    """A ``--base-url`` value that is neither ``URL`` nor ``ris=URL`` / ``routeviews=URL``."""


def parse_base_urls(values: Sequence[str]) -> dict[str, str]:
    """``["URL"]`` (one base for every project) or ``["ris=URL", "routeviews=URL"]`` → per project."""
    bases = dict(DEFAULT_BASE_URLS)
    for value in values:
        key, sep, url = value.partition("=")
        if sep and key in bases and "/" not in key:
            bases[key] = url
        elif sep and "/" not in key and ":" not in key:
            raise BaseUrlError(f"--base-url {value!r}: unknown project {key!r} (use ris= or routeviews=)")
        else:
            bases = dict.fromkeys(bases, value)
    return bases


@dataclass(frozen=True, slots=True)
class Fetched:
    """The outcome of the download phase."""

    plan: Plan
    """The planned files."""
    results: tuple[FetchResult, ...]
    local: dict[str, Path]
    """Archive path → local file, for every file now on disk."""

    def usable_plan(self) -> Plan:
        """The plan without the files that could not be fetched (collectors without a RIB dropped)."""
        keep: list[CollectorPlan] = []
        for cp in self.plan.collectors:
            ribs = tuple(f for f in cp.ribs if f.path in self.local)
            if not ribs:
                continue
            ups = tuple(f for f in cp.updates if f.path in self.local)
            keep.append(dataclasses.replace(cp, ribs=ribs, updates=ups))
        return dataclasses.replace(self.plan, collectors=tuple(keep))

    @property
    def problems(self) -> list[FetchResult]:
        return [r for r in self.results if not r.ok]


def fetch_window(
    collectors: Sequence[Collector],
    start: datetime,
    end: datetime,
    *,
    bases: dict[str, str],
    cache: Cache,
    options: FetchOptions,
    progress: bool | None = None,
) -> Fetched:
    """Plan ``[start, end)`` for ``collectors`` and bring every planned file to local disk."""
    project_base = {c.name: bases[c.project] for c in collectors}

    def base_for_file(f: ArchiveFile) -> str:
        return project_base[f.collector]

    client = None if options.offline else httpx.Client(timeout=options.timeout, follow_redirects=True)
    try:
        listing_base = (lambda c: str(cache.root)) if options.offline else (lambda c: project_base[c.name])
        plan = discover_plan(collectors, start, end, listing_base, client)
        results = fetch_all(list(plan.files), base_for_file, cache, options, progress=progress, client=client)
    finally:
        if client is not None:
            client.close()
    local = {r.file.path: r.path for r in results if r.path is not None}
    return Fetched(plan, tuple(results), local)
