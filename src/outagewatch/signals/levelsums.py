"""Per-entity level sums, kept from bin to bin.

For each family, every country, AS entity and the global entity has 18 sums: its prefixes at
or above each of the 9 nested visibility thresholds, and their /24- (IPv6: /48-) equivalents
(``signals/_rollupcore.c``, ``level_sums``). A bin gets them either afresh from the visibility
levels (:func:`compute`) or by moving the last bin's sums on by the prefixes it changed
(:func:`moved`): subtract their old rows, add their new ones.

Moving on adds and subtracts floating-point weights. That is exact, and so equal to a fresh
computation, for rows whose weight is a whole multiple of 2^-q while the family's total of
such weights stays below 2^(52-q): q = 8 for IPv4 (any IPv4 prefix and any address range),
q = 16 for IPv6 (prefixes and ranges up to /64). The other rows, "odd" ones (IPv6 prefixes
longer than /64, country ranges that split a /64), are few: both :func:`compute` and
:func:`moved` sum them afresh in one fixed order and add them last, to the few entities they
touch, so the two give the same sums bit for bit. :class:`Exactness` sorts rows into fine
and odd and watches the totals; a family whose fine total grows too large is computed afresh
in every bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from outagewatch.signals import _rollupcore  # type: ignore[attr-defined]
from outagewatch.signals.growable import Growable
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


Saved = tuple[I64, F64]
"""Entities touched by odd rows (sorted) and their sums over fine rows alone."""
_NONE_SAVED: Final[Saved] = (np.zeros(0, np.int64), np.zeros((0, N_SUMS)))


@dataclass(frozen=True, slots=True)
class LevelSums:
    """Per family (4, 6): countries × 18, AS entities × 18 and global 1 × 18; and, per family
    and level, the fine-row sums of the entities odd rows touched (what :func:`moved` goes on
    from)."""

    country: dict[int, F64]
    asn: dict[int, F64]
    world: dict[int, F64]
    saved: dict[tuple[str, int], Saved]


@dataclass(frozen=True, slots=True)
class Odd:
    """Which prefixes (by id) and which country rows have odd weights, as masks and as sorted
    ids per family."""

    prefix: npt.NDArray[np.bool_]
    row: npt.NDArray[np.bool_]
    prefix_ids: dict[int, I64]
    row_ids: dict[int, I64]


def odd_weights(afi: U8, w: F64) -> npt.NDArray[np.bool_]:
    """Weights that are not whole multiples of their family's grain."""
    q = np.where(afi == 6, GRAIN[6], GRAIN[4])
    scaled = np.ldexp(w, q)
    out: npt.NDArray[np.bool_] = scaled != np.floor(scaled)
    return out


class Exactness:
    """Which rows are odd, and whether each family's fine sums can be moved on exactly (see
    the module text); looks only at prefixes and country rows added since the last call."""

    def __init__(self) -> None:
        self._total = {4: 0.0, 6: 0.0}
        self._row_total = {4: 0.0, 6: 0.0}
        self._odd_p = Growable(np.zeros(0), bool)
        self._odd_r = Growable(np.zeros(0), bool)
        self._p_ids = {f: Growable(np.zeros(0), np.int64) for f in GRAIN}
        self._r_ids = {f: Growable(np.zeros(0), np.int64) for f in GRAIN}
        self.odd = self._current()

    def _current(self) -> Odd:
        return Odd(
            self._odd_p.view,
            self._odd_r.view,
            {f: g.view for f, g in self._p_ids.items()},
            {f: g.view for f, g in self._r_ids.items()},
        )

    def families(self, afi: U8, weight: F64, ci: CountryIndex) -> dict[int, bool]:
        p0, r0 = len(self._odd_p), len(self._odd_r)
        if p0 != len(afi) or r0 != len(ci.weight):
            w, r_w = weight[p0:], ci.weight[r0:]
            p_afi, r_afi = afi[p0:], afi[ci.prefix[r0:]]
            odd_p, odd_r = odd_weights(p_afi, w), odd_weights(r_afi, r_w)
            self._odd_p.append(odd_p)
            self._odd_r.append(odd_r)
            for fam in GRAIN:
                self._p_ids[fam].append(p0 + np.flatnonzero(odd_p & (p_afi == fam)))
                self._r_ids[fam].append(r0 + np.flatnonzero(odd_r & (r_afi == fam)))
                self._total[fam] += float(w[(p_afi == fam) & ~odd_p].sum())
                self._row_total[fam] += float(r_w[(r_afi == fam) & ~odd_r].sum())
            self.odd = self._current()
        return {
            fam: max(self._total[fam], self._row_total[fam]) < 2.0 ** (52 - q) for fam, q in GRAIN.items()
        }


def compute(
    vis: Visibility, afi: U8, weight: F64, ci: CountryIndex, n_as: int, odd: Odd | None = None
) -> LevelSums:
    """The sums afresh from every prefix's and pair's levels (``odd``: the odd rows, found
    here when not given)."""
    if odd is None:
        ex = Exactness()
        ex.families(afi, weight, ci)
        odd = ex.odd
    out = LevelSums({}, {}, {}, {})
    for fam in (4, 6):
        _family(out, fam, vis, afi, weight, ci, n_as, odd)
    return out


def _family(
    out: LevelSums, fam: int, vis: Visibility, afi: U8, weight: F64, ci: CountryIndex, n_as: int, odd: Odd
) -> None:
    rows = np.flatnonzero((afi[ci.prefix] == fam) & ~odd.row)
    p = ci.prefix[rows]
    c = sums(ci.country[rows], len(ci.codes), vis.ff_level[p], vis.asn_level[p], ci.weight[rows])
    ps = np.flatnonzero((vis.pair_as >= 0) & (afi[vis.pair_prefix] == fam) & ~odd.prefix[vis.pair_prefix])
    a = sums(
        vis.pair_as[ps], n_as, vis.pair_ff_level[ps], vis.pair_asn_level[ps], weight[vis.pair_prefix[ps]]
    )
    all_p = np.flatnonzero((afi == fam) & ~odd.prefix)
    g = sums(None, 1, vis.ff_level[all_p], vis.asn_level[all_p], weight[all_p])
    _finish(out, fam, vis, afi, weight, ci, odd, c, a, g)


def _finish(
    out: LevelSums,
    fam: int,
    vis: Visibility,
    afi: U8,
    weight: F64,
    ci: CountryIndex,
    odd: Odd,
    country: F64,
    asn: F64,
    world: F64,
) -> None:
    """Store the fine sums of one family with the odd rows added (in a fixed order: rows by
    prefix id, pairs by (prefix, origin)), saving the fine sums of the entities they touch."""
    out.country[fam], out.asn[fam], out.world[fam] = country, asn, world
    o_rows = odd.row_ids[fam]
    p = ci.prefix[o_rows]
    out.saved["country", fam] = _add_odd(
        country, ci.country[o_rows], vis.ff_level[p], vis.asn_level[p], ci.weight[o_rows]
    )
    o_pfx = odd.prefix_ids[fam]
    zero = np.zeros(len(o_pfx), dtype=np.int64)
    out.saved["world", fam] = _add_odd(world, zero, vis.ff_level[o_pfx], vis.asn_level[o_pfx], weight[o_pfx])
    saved = _NONE_SAVED
    if len(o_pfx):
        ps = np.flatnonzero(odd.prefix[vis.pair_prefix] & (vis.pair_as >= 0))
        ps = ps[np.lexsort((vis.pair_origin[ps], vis.pair_prefix[ps]))]
        saved = _add_odd(
            asn, vis.pair_as[ps], vis.pair_ff_level[ps], vis.pair_asn_level[ps], weight[vis.pair_prefix[ps]]
        )
    out.saved["asn", fam] = saved


def _add_odd(
    m: F64, ent: I64, level_ff: npt.NDArray[np.int8], level_asn: npt.NDArray[np.int8], w: F64
) -> Saved:
    """Add odd rows (in the order given) to ``m``; returns the touched entities' sums before."""
    if len(ent) == 0:
        return _NONE_SAVED
    u, inv = np.unique(ent, return_inverse=True)
    before = m[u].copy()
    m[u] += sums(inv.reshape(-1), len(u), level_ff, level_asn, w)
    return u.astype(np.int64), before


def _fine(m: F64, rows: int, saved: Saved) -> F64:
    """The fine-row sums behind stored sums ``m``, grown to ``rows`` entities, in ``m``'s own
    buffer when it has room (``m`` is used up): the AS sums are large, and copying them every
    bin would cost more than moving them on. Grown buffers get spare rows, all zero, so that
    the entities of the next bins fit."""
    buf = m.base if isinstance(m.base, np.ndarray) else m
    if buf.ndim != 2 or m.ctypes.data != buf.ctypes.data or len(buf) < rows:
        buf = np.zeros((max(rows, 2 * len(m)), N_SUMS))
        buf[: len(m)] = m
    out: F64 = buf[:rows]
    out[saved[0]] = saved[1]
    return out


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
    odd: Odd,
) -> LevelSums:
    """``prev`` (the sums of ``old``) moved on to ``vis``, which :func:`~outagewatch.signals.
    visibility.update` made from ``old`` by redoing the prefixes ``dirty`` (sorted, unique),
    dropping ``old``'s pairs at ``removed``: its pairs are the kept ones first, then the fresh
    ones. Odd rows are added afresh; families not ``exact`` are computed afresh. ``prev`` is
    used up: its sums are moved on in place."""
    n_pfx = len(afi)
    fresh = np.arange(len(old.pair_prefix) - len(removed), len(vis.pair_prefix), dtype=np.int64)
    old_ff = _padded(old.ff_level, n_pfx)
    old_asn = _padded(old.asn_level, n_pfx)
    owner, c_rows = ci.rows(dirty)
    out = LevelSums({}, {}, {}, {})
    for fam in (4, 6):
        if not exact[fam]:
            _family(out, fam, vis, afi, weight, ci, n_as, odd)
            continue
        a = _fine(prev.asn[fam], n_as, prev.saved["asn", fam])
        r = removed[(old.pair_as[removed] >= 0) & (afi[old.pair_prefix[removed]] == fam)]
        r = r[~odd.prefix[old.pair_prefix[r]]]
        _add(a, old.pair_as[r], old.pair_ff_level[r], old.pair_asn_level[r], weight[old.pair_prefix[r]], -1.0)
        f = fresh[(vis.pair_as[fresh] >= 0) & (afi[vis.pair_prefix[fresh]] == fam)]
        f = f[~odd.prefix[vis.pair_prefix[f]]]
        _add(a, vis.pair_as[f], vis.pair_ff_level[f], vis.pair_asn_level[f], weight[vis.pair_prefix[f]], 1.0)
        d = dirty[(afi[dirty] == fam) & ~odd.prefix[dirty]]
        g = _fine(prev.world[fam], 1, prev.saved["world", fam])
        _add(g, None, old_ff[d], old_asn[d], weight[d], -1.0)
        _add(g, None, vis.ff_level[d], vis.asn_level[d], weight[d], 1.0)
        c = _fine(prev.country[fam], len(ci.codes), prev.saved["country", fam])
        cr = c_rows[afi[dirty[owner]] == fam]
        cr = cr[~odd.row[cr]]
        p = ci.prefix[cr]
        _add(c, ci.country[cr], old_ff[p], old_asn[p], ci.weight[cr], -1.0)
        _add(c, ci.country[cr], vis.ff_level[p], vis.asn_level[p], ci.weight[cr], 1.0)
        _finish(out, fam, vis, afi, weight, ci, odd, c, a, g)
    return out


def _padded(levels: npt.NDArray[np.int8], n: int) -> npt.NDArray[np.int8]:
    """Levels of ``n`` prefixes: prefixes new since (ids past the end) were at level 0."""
    if len(levels) >= n:
        return levels
    out = np.zeros(n, dtype=np.int8)
    out[: len(levels)] = levels
    return out
