"""Per-entity level sums, kept from bin to bin.

For each family, every country, AS entity and the global entity has 18 sums: its prefixes at
or above each of the 9 nested visibility thresholds, and their /24- (IPv6: /48-) equivalents
(``signals/_rollupcore.c``, ``level_sums``). A bin gets them either afresh from the visibility
levels (:func:`compute`) or by moving the last bin's sums on by the prefixes it changed
(:func:`moved`): subtract their old rows, add their new ones.

Moving on adds and subtracts floating-point weights. That is exact, and so equal to a fresh
computation, while every weight of the family is a whole multiple of 2^-q and the family's
total weight stays below 2^(52-q): q = 8 for IPv4 (any IPv4 prefix and any address range),
q = 16 for IPv6 (prefixes and ranges up to /64). :class:`Exactness` tracks that; a family
outside it is computed afresh in every bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from outagewatch.signals import _rollupcore  # type: ignore[attr-defined]
from outagewatch.signals.mapping import CountryIndex
from outagewatch.signals.visibility import Visibility

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
N_SUMS: Final = 18
GRAIN: Final = {4: 8, 6: 16}
"""Per family: weights must be whole multiples of 2^-GRAIN for sums to be moved on exactly."""


def sums(
    ent: I64 | None, n_ent: int, level_ff: npt.NDArray[np.int8], level_asn: npt.NDArray[np.int8], w: F64
) -> F64:
    """entities × 18 sums of these rows (``ent`` None: one entity)."""
    out = np.zeros((n_ent, N_SUMS))
    _add(out, ent, level_ff, level_asn, w, 1.0)
    return out


def _add(
    out: F64,
    ent: I64 | None,
    level_ff: npt.NDArray[np.int8],
    level_asn: npt.NDArray[np.int8],
    w: F64,
    sign: float,
) -> None:
    _rollupcore.level_sums(
        None if ent is None else np.ascontiguousarray(ent, dtype=np.int64),
        np.ascontiguousarray(level_ff, dtype=np.int8),
        np.ascontiguousarray(level_asn, dtype=np.int8),
        np.ascontiguousarray(w, dtype=np.float64),
        out,
        sign,
    )


@dataclass(frozen=True, slots=True)
class LevelSums:
    """Per family (4, 6): countries × 18, AS entities × 18 and global 1 × 18."""

    country: dict[int, F64]
    asn: dict[int, F64]
    world: dict[int, F64]


class Exactness:
    """Whether each family's sums can be moved on exactly (see the module text); checks only
    prefixes and country rows added since the last call."""

    def __init__(self) -> None:
        self._prefixes = 0
        self._rows = 0
        self._whole = {4: True, 6: True}
        self._total = {4: 0.0, 6: 0.0}
        self._row_total = {4: 0.0, 6: 0.0}

    def families(self, afi: U8, weight: F64, ci: CountryIndex) -> dict[int, bool]:
        new_p = slice(self._prefixes, len(afi))
        new_r = slice(self._rows, len(ci.weight))
        row_afi = afi[ci.prefix[new_r]]
        for fam, q in GRAIN.items():
            w = weight[new_p][afi[new_p] == fam]
            rw = ci.weight[new_r][row_afi == fam]
            self._whole[fam] &= _whole(w, q) and _whole(rw, q)
            self._total[fam] += float(w.sum())
            self._row_total[fam] += float(rw.sum())
        self._prefixes, self._rows = len(afi), len(ci.weight)
        return {
            fam: self._whole[fam] and max(self._total[fam], self._row_total[fam]) < 2.0 ** (52 - q)
            for fam, q in GRAIN.items()
        }


def _whole(w: F64, q: int) -> bool:
    scaled = np.ldexp(w, q)
    return bool((scaled == np.floor(scaled)).all())


def compute(vis: Visibility, afi: U8, weight: F64, ci: CountryIndex, n_as: int) -> LevelSums:
    """The sums afresh from every prefix's and pair's levels."""
    out = LevelSums({}, {}, {})
    for fam in (4, 6):
        _family(out, fam, vis, afi, weight, ci, n_as)
    return out


def _family(
    out: LevelSums, fam: int, vis: Visibility, afi: U8, weight: F64, ci: CountryIndex, n_as: int
) -> None:
    rows = np.flatnonzero(afi[ci.prefix] == fam)
    p = ci.prefix[rows]
    out.country[fam] = sums(
        ci.country[rows], len(ci.codes), vis.ff_level[p], vis.asn_level[p], ci.weight[rows]
    )
    ps = np.flatnonzero((vis.pair_as >= 0) & (afi[vis.pair_prefix] == fam))
    out.asn[fam] = sums(
        vis.pair_as[ps], n_as, vis.pair_ff_level[ps], vis.pair_asn_level[ps], weight[vis.pair_prefix[ps]]
    )
    all_p = np.flatnonzero(afi == fam)
    out.world[fam] = sums(None, 1, vis.ff_level[all_p], vis.asn_level[all_p], weight[all_p])


def moved(
    prev: LevelSums,
    old: Visibility,
    vis: Visibility,
    dirty: I64,
    removed: I64,
    afi: U8,
    weight: F64,
    ci: CountryIndex,
    n_as: int,
    exact: dict[int, bool],
) -> LevelSums:
    """``prev`` (the sums of ``old``) moved on to ``vis``, which :func:`~outagewatch.signals.
    visibility.update` made from ``old`` by redoing the prefixes ``dirty`` (sorted, unique),
    dropping ``old``'s pairs at ``removed``: its pairs are the kept ones first, then the fresh
    ones. Families not ``exact`` are computed afresh."""
    n_pfx = len(afi)
    fresh = np.arange(len(old.pair_prefix) - len(removed), len(vis.pair_prefix), dtype=np.int64)
    old_ff = _padded(old.ff_level, n_pfx)
    old_asn = _padded(old.asn_level, n_pfx)
    owner, c_rows = ci.rows(dirty)
    out = LevelSums({}, {}, {})
    for fam in (4, 6):
        if not exact[fam]:
            _family(out, fam, vis, afi, weight, ci, n_as)
            continue
        a = _grown(prev.asn[fam], n_as)
        r = removed[(old.pair_as[removed] >= 0) & (afi[old.pair_prefix[removed]] == fam)]
        _add(a, old.pair_as[r], old.pair_ff_level[r], old.pair_asn_level[r], weight[old.pair_prefix[r]], -1.0)
        f = fresh[(vis.pair_as[fresh] >= 0) & (afi[vis.pair_prefix[fresh]] == fam)]
        _add(a, vis.pair_as[f], vis.pair_ff_level[f], vis.pair_asn_level[f], weight[vis.pair_prefix[f]], 1.0)
        out.asn[fam] = a
        d = dirty[afi[dirty] == fam]
        g = prev.world[fam].copy()
        _add(g, None, old_ff[d], old_asn[d], weight[d], -1.0)
        _add(g, None, vis.ff_level[d], vis.asn_level[d], weight[d], 1.0)
        out.world[fam] = g
        c = _grown(prev.country[fam], len(ci.codes))
        cr = c_rows[afi[dirty[owner]] == fam]
        p = ci.prefix[cr]
        _add(c, ci.country[cr], old_ff[p], old_asn[p], ci.weight[cr], -1.0)
        _add(c, ci.country[cr], vis.ff_level[p], vis.asn_level[p], ci.weight[cr], 1.0)
        out.country[fam] = c
    return out


def _padded(levels: npt.NDArray[np.int8], n: int) -> npt.NDArray[np.int8]:
    """Levels of ``n`` prefixes: prefixes new since (ids past the end) were at level 0."""
    if len(levels) >= n:
        return levels
    out = np.zeros(n, dtype=np.int8)
    out[: len(levels)] = levels
    return out


def _grown(m: F64, rows: int) -> F64:
    out = np.zeros((rows, N_SUMS))
    out[: len(m)] = m
    return out
