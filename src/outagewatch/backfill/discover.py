"""Planning against a real archive: read its directory listings, then plan from what is there.

Listings make plans exact in every era (irregular early file times, missing files). When an
archive cannot be listed (no index pages, offline without a cache copy), the plan falls back to
the dump schedule, and missing files show up later as ``missing`` fetch results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import httpx

from outagewatch.backfill.collectors import Collector
from outagewatch.backfill.download import list_directory
from outagewatch.backfill.layout import ArchiveFile, files_from_listing
from outagewatch.backfill.plan import Plan, dirs_to_list, plan_window

# Directory spellings seen in the RouteViews archive over the years, tried in this order.
_ALTERNATES = {"RIBS": ("RIBS", "ribs"), "UPDATES": ("UPDATES", "updates")}


def _list_with_alternates(
    client: httpx.Client | None, base: str, directory: str
) -> tuple[str, list[str] | None]:
    head, _, leaf = directory.rpartition("/")
    spellings = _ALTERNATES.get(leaf, (leaf,))
    names: list[str] | None = None
    for spelling in spellings:
        candidate = f"{head}/{spelling}" if head else spelling
        names = list_directory(client, base, candidate)
        if names:
            return candidate, names
    return directory, names


def listed_files(
    c: Collector, start: datetime, end: datetime, base: str, client: httpx.Client | None
) -> list[ArchiveFile] | None:
    """Every archive file of ``c`` the listings near ``[start, end)`` show; ``None`` if unlistable."""
    out: list[ArchiveFile] = []
    for directory in dirs_to_list(c, start, end):
        found, names = _list_with_alternates(client, base, directory)
        if names is None:
            return None
        out.extend(files_from_listing(c, found, names))
    return out


def discover_plan(
    collectors: Sequence[Collector],
    start: datetime,
    end: datetime,
    base_for: Callable[[Collector], str],
    client: httpx.Client | None,
) -> Plan:
    """The plan for ``collectors`` over ``[start, end)``, from listings where the archive has them."""
    listings: dict[str, list[ArchiveFile]] = {}
    for c in collectors:
        files = listed_files(c, start, end, base_for(c), client)
        if files is not None and any(f.kind == "rib" for f in files):
            listings[c.name] = files
    return plan_window(collectors, start, end, listings)
