"""Load prefix → country and AS-name sources from files (the shell around ``outagewatch.enrich``).

Country sources, oldest to newest (later ones override earlier ones wherever they know a country):

1. the bundled default, from the ``iptocc`` package (RIR delegated data refreshed nightly and
   compiled into its wheel). iptocc only answers point lookups, so we probe it on a grid (every
   /24 of IPv4, every /32 of the RIR IPv6 blocks), about 20 M lookups taking a minute, and cache
   the resulting ranges as ``.npz`` under ``$XDG_CACHE_HOME/outagewatch`` keyed by iptocc's version;
2. user files in the order given: RIR delegated(-extended) files (plain, gzip or bzip2),
   ``ip_to_country``-style range tables (``*.tsv``: ``first<TAB>last<TAB>cc`` for IPv4,
   ``prefix<TAB>cc`` for IPv6), or MaxMind-format ``.mmdb`` databases (GeoLite2/GeoIP2 Country,
   DB-IP, IPinfo country: ``country.iso_code``, else ``registered_country.iso_code``, else
   ``country_code``).

AS sources: ``asnames.json[.gz]`` tables (name and country) and RIR delegated ASN lines (country),
later files overriding earlier ones field by field. No offline PyPI package ships AS names, so
without a user file AS names and countries are unknown.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from outagewatch.enrich.asnames import AsNames
from outagewatch.enrich.countries import CountryMap, Ranges, country_map_from_lookup, make_ranges
from outagewatch.enrich.delegated import AsnRows, parse_asnames_json, parse_delegated, parse_range_tsv
from outagewatch.model.problem import MrtError
from outagewatch.sources.compressed import open_input

PathLike = str | os.PathLike[str]


def read_text(path: PathLike) -> str:
    """A whole (possibly gzip/bzip2-compressed) text file; MrtError naming it when unusable."""
    with open_input(path) as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MrtError(f"{os.fspath(path)}: not UTF-8 text (byte {exc.start})") from None


def _is_range_tsv(path: PathLike) -> bool:
    name = Path(path).name.lower()
    return name.endswith((".tsv", ".tsv.gz", ".tsv.bz2"))


MMDB_MARKER = b"\xab\xcd\xefMaxMind.com"


def _is_mmdb(path: PathLike) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 128 * 1024))
            return MMDB_MARKER in f.read()
    except OSError:
        return False


def load_mmdb(path: PathLike) -> CountryMap:
    """Country ranges from a MaxMind-format database (read with the ``maxminddb`` package)."""
    import maxminddb

    name = os.fspath(path)
    rows: dict[int, tuple[list[int], list[int], list[str]]] = {4: ([], [], []), 6: ([], [], [])}
    try:
        with maxminddb.open_database(name) as reader:
            for net, record in reader:
                cc = _mmdb_country(record)
                if cc is None:
                    continue
                first, last = int(net.network_address), int(net.broadcast_address)
                if net.version == 6:
                    first, last = first >> 64, last >> 64
                s, e, c = rows[net.version]
                s.append(first)
                e.append(last)
                c.append(cc)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise MrtError(f"{name}: not a readable MaxMind database: {exc}") from None
    return CountryMap(make_ranges(*rows[4]), make_ranges(*rows[6]), source=name)


def _mmdb_country(record: object) -> str | None:
    if not isinstance(record, dict):
        return None
    for key in ("country", "registered_country"):
        sub = record.get(key)
        if isinstance(sub, dict) and isinstance(sub.get("iso_code"), str):
            return str(sub["iso_code"])
    cc = record.get("country_code")
    return cc if isinstance(cc, str) and len(cc) == 2 else None


def load_country_file(path: PathLike) -> CountryMap:
    """One user country source: a delegated(-extended) file, a ``.tsv`` range table or an ``.mmdb``."""
    if _is_mmdb(path):
        return load_mmdb(path)
    text = read_text(path)
    name = os.fspath(path)
    try:
        if _is_range_tsv(path):
            lines = text.splitlines()
            v6 = any("/" in line.split("\t")[0] for line in lines if line and not line.startswith("#"))
            return parse_range_tsv([], lines, source=name) if v6 else parse_range_tsv(lines, [], source=name)
        return parse_delegated(text.splitlines(), source=name).countries
    except ValueError as exc:
        raise MrtError(f"{name}: {exc}") from None


def country_map(
    paths: Sequence[PathLike] = (), *, default: bool = True, cache_dir: PathLike | None = None
) -> CountryMap:
    """The layered map: the bundled default (unless ``default=False``), then ``paths`` in order."""
    layers = [default_country_map(cache_dir)] if default else []
    layers += [load_country_file(p) for p in paths]
    return CountryMap.layered(layers)


def as_names(paths: Sequence[PathLike]) -> AsNames:
    """AS names/countries from ``asnames.json[.gz]`` files and delegated files, later ones winning."""
    rows: list[AsnRows] = []
    for path in paths:
        text = read_text(path)
        try:
            if text.lstrip().startswith("{"):
                rows.append(parse_asnames_json(text))
            else:
                rows.append(parse_delegated(text.splitlines(), source=os.fspath(path)).asns)
        except (ValueError, json.JSONDecodeError) as exc:
            raise MrtError(f"{os.fspath(path)}: {exc}") from None
    return AsNames.build(rows)


# -- the bundled default ------------------------------------------------------------------------


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "outagewatch"


_MEMO: dict[str, CountryMap] = {}


def default_country_map(cache_dir: PathLike | None = None) -> CountryMap:
    """The iptocc-derived default map, from the on-disk cache or built (about a minute) and cached."""
    import iptocc

    version = metadata.version("iptocc")
    path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = path / f"country-iptocc-{version}.npz"
    key = os.fspath(path)
    if key in _MEMO:
        return _MEMO[key]
    cmap = _load_npz(path, f"iptocc {version}")
    if cmap is None:
        cmap = country_map_from_lookup(iptocc.country_code, f"iptocc {version}")
        _save_npz(cmap, path)
    _MEMO[key] = cmap
    return cmap


def _load_npz(path: Path, source: str) -> CountryMap | None:
    try:
        with np.load(path) as z:
            v4, v6 = (Ranges(z[f"start{f}"], z[f"end{f}"], z[f"country{f}"]) for f in (4, 6))
    except (OSError, KeyError, ValueError):
        return None
    return CountryMap(v4, v6, source=source)


def _save_npz(cmap: CountryMap, path: Path) -> None:
    """Write the cache atomically; a read-only cache location only costs the rebuild next time."""
    arrays = {f"{k}{f}": getattr(cmap.ranges(f), k) for f in (4, 6) for k in ("start", "end", "country")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass
