"""One closed bin → its :class:`SignalPartial`: visibility, churn and upstream roll-ups.

Entities: every country with a mapped prefix, every origin AS ever seen, every watchlisted
prefix, and ``global/all``. Visibility rows are written for every country and watched prefix
of a family and for ``global`` (zeros included, so an outage shows as 0); for ASes (tens of
thousands) only non-zero visibility rows. Churn rows only for entities with ≥ 1 update in the
bin; upstream routes only for upstreams carrying ≥ 1 full-feed route. Absent means 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.signals import _rollupcore  # type: ignore[attr-defined]
from outagewatch.signals import metrics as M
from outagewatch.signals.growable import GrowableStrings
from outagewatch.signals.levelsums import LevelSums, sums
from outagewatch.signals.mapping import CountryIndex
from outagewatch.signals.partial import (
    REPORTER_SCHEMA,
    SIGNAL_SCHEMA,
    UPSTREAM_SCHEMA,
    SignalPartial,
    block,
    const,
    head,
    named,
    reporter_block,
    restamp,
    upstream_block,
)
from outagewatch.signals.state import Cells, RoutingState, Updates
from outagewatch.signals.visibility import Visibility, backing

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class UpstreamNames:
    """``upstream.<asn>.routes`` and ``.share`` metric names per upstream id, extended as the
    path table adds upstreams (ids only grow)."""

    def __init__(self) -> None:
        self._routes = GrowableStrings()
        self._share = GrowableStrings()

    def of(self, up_asn: npt.NDArray[np.uint32]) -> tuple[pa.Array, pa.Array]:
        n = len(self._routes)
        if len(up_asn) > n:
            asns = pa.array(np.asarray(up_asn[n:], dtype=np.uint32)).cast(pa.string())
            self._routes.append(pc.binary_join_element_wise("upstream.", asns, ".routes", ""))
            self._share.append(pc.binary_join_element_wise("upstream.", asns, ".share", ""))
        return self._routes.array, self._share.array


@dataclass(frozen=True, slots=True)
class BinContext:
    bin_start_us: int
    bin_seconds: int
    state: RoutingState
    countries: CountryIndex
    watch: I64  # prefix ids
    watch_text: list[str]
    vis: Visibility
    n_ff: dict[int, int]
    sums: LevelSums
    up_names: UpstreamNames


def visibility_partial(ctx: BinContext) -> list[pa.Table]:
    vis, pfx = ctx.vis, ctx.state.prefixes
    weight = pfx.weights()
    out: list[pa.Table] = []
    ci = ctx.countries
    n_c = len(ci.codes)
    c_names = pa.array(ci.codes, pa.string())
    as_names = _as_names(ctx)
    for afi in (4, 6):
        names = list(M.visibility_metrics(afi))
        if n_c:
            has = ci.holders(afi, pfx.afi)
            vals = ctx.sums.country[afi]
            out.append(block(ctx.bin_start_us, ctx.bin_seconds, "country", c_names, names, vals, has))
        if ctx.state.as_index.size:
            # ASes are many: only non-zero visibility rows are written (absent = 0)
            vals = ctx.sums.asn[afi]
            out.append(block(ctx.bin_start_us, ctx.bin_seconds, "as", as_names, names, vals, nonzero=True))
        vals = ctx.sums.world[afi]
        out.append(
            block(ctx.bin_start_us, ctx.bin_seconds, "global", pa.array([M.GLOBAL_ENTITY]), names, vals)
        )
        w_ids = np.array([i for i in ctx.watch.tolist() if pfx.afi[i] == afi], dtype=np.int64)
        if len(w_ids):
            w_names = pa.array(
                [ctx.watch_text[j] for j, i in enumerate(ctx.watch.tolist()) if pfx.afi[i] == afi]
            )
            vals = sums(
                np.arange(len(w_ids)), len(w_ids), vis.ff_level[w_ids], vis.asn_level[w_ids], weight[w_ids]
            )
            out.append(block(ctx.bin_start_us, ctx.bin_seconds, "prefix", w_names, names, vals))
    ff = np.array([[ctx.n_ff[4], ctx.n_ff[6]]], dtype=np.float64)
    out.append(
        block(
            ctx.bin_start_us,
            ctx.bin_seconds,
            "global",
            pa.array([M.GLOBAL_ENTITY]),
            [M.FULL_FEED[4], M.FULL_FEED[6]],
            ff,
        )
    )
    return out


def churn_partial(ctx: BinContext, upd: Updates) -> tuple[list[pa.Table], list[pa.Table], list[pa.Table]]:
    """Churn counts per entity (only entities with updates), their reporting peers, and the
    ``all.peers_reporting`` rows finalize would derive from those."""
    if len(upd) == 0:
        return [], [], []
    ann = upd.announce
    cols = np.stack([ann, ~ann, upd.duplicate, upd.path_change, np.ones(len(upd), dtype=bool)], axis=1)
    peer_keys = ctx.state.peers.key
    names = list(M.CHURN_METRICS)
    vals: list[pa.Table] = []
    reps: list[pa.Table] = []
    derived: list[pa.Table] = []
    groups = [("global", pa.array([M.GLOBAL_ENTITY]), np.arange(len(upd)), np.zeros(len(upd), np.int64))]
    owner, cc = ctx.countries.explode(upd.prefix)
    groups.append(("country", pa.array(ctx.countries.codes, pa.string()), owner, cc))
    a_idx = ctx.state.as_ids(upd.origin)
    a_ok = a_idx >= 0
    rows = np.flatnonzero(a_ok)
    groups.append(("as", _as_names(ctx), rows, a_idx[rows].astype(np.int64)))
    if len(ctx.watch):
        w_pos = {p: j for j, p in enumerate(ctx.watch.tolist())}
        hit = np.flatnonzero(np.isin(upd.prefix, ctx.watch))
        w_ent = np.array([w_pos[p] for p in upd.prefix[hit].tolist()], dtype=np.int64)
        groups.append(("prefix", pa.array(ctx.watch_text, pa.string()), hit, w_ent))
    for etype, ents, rws, ent in groups:
        if len(rws) == 0:
            continue
        used, local = _compact(np.asarray(ent, dtype=np.int64), len(ents))
        names_used = ents.take(pa.array(used))
        mat: F64 = np.zeros((len(used), 5))
        _rollupcore.flag_counts(local, cols, mat, np.ascontiguousarray(rws, dtype=np.int64))
        vals.append(block(ctx.bin_start_us, ctx.bin_seconds, etype, names_used, names, mat))
        rep = reporter_block(
            ctx.bin_start_us, ctx.bin_seconds, etype, names_used, local, upd.peer[rws], peer_keys
        )
        reps.append(rep)
        count = np.bincount(rep["entity"].chunk(0).indices.to_numpy(), minlength=len(used))
        has = np.flatnonzero(count)
        derived.append(
            named(
                head(len(has), ctx.bin_start_us, ctx.bin_seconds, etype),
                names_used,
                has,
                const(len(has), M.PEERS_REPORTING),
                count[has].astype(np.float64),
            )
        )
    return vals, reps, derived


def _compact(ent: I64, n: int) -> tuple[I64, I64]:
    """The entity ids (< n) that occur, ascending, and each row's position among them: a bin's
    churn touches few of the (many) AS entities."""
    seen = np.zeros(n, dtype=bool)
    seen[ent] = True
    used = np.flatnonzero(seen)
    at = np.empty(n, dtype=np.int64)
    at[used] = np.arange(len(used), dtype=np.int64)
    return used, at[ent]


@dataclass(frozen=True, slots=True)
class UpstreamCounts:
    """What the upstream roll-up counts: full-feed (peer, prefix) routes per path id (0 for id
    0, no route) and per (country, upstream id), a country counting each prefix it holds."""

    path_count: I64
    country: npt.NDArray[np.int64]  # (countries, upstream ids)


def count_upstreams(ctx: BinContext) -> UpstreamCounts:
    """:class:`UpstreamCounts` from the whole route matrix (compiled tallies over its
    full-feed rows)."""
    st, paths = ctx.state, ctx.state.paths
    matrix, afi_of = backing(st.routes), st.prefixes.afi
    n_up = len(paths.up_asn)
    up_class = np.where(_has_upstream(ctx), paths.up_id, -1).astype(np.int64)
    path_count = np.zeros((1, paths.size), dtype=np.int64)
    ci = ctx.countries
    country = np.zeros((len(ci.codes), n_up), dtype=np.int64)
    for afi in (4, 6):
        rows = np.ascontiguousarray(ctx.vis.ff_rows.get(afi, np.zeros(0, np.int64)), dtype=np.int64)
        if len(rows) == 0:
            continue
        _rollupcore.tally(matrix, rows, st.prefixes.family(afi), None, None, path_count)
        e_sel = np.flatnonzero(afi_of[ci.prefix] == afi)
        if len(e_sel) and n_up:
            _rollupcore.tally(matrix, rows, ci.prefix[e_sel], ci.country[e_sel], up_class, country)
    return UpstreamCounts(path_count.reshape(-1), country)


def updated_upstreams(prev: UpstreamCounts, ctx: BinContext, cells: Cells) -> UpstreamCounts:
    """``prev`` moved on by the route cells one bin changed (the full-feed peers unchanged and
    not reset since ``prev``): exactly :func:`count_upstreams` of the new state."""
    st, paths, ci = ctx.state, ctx.state.paths, ctx.countries
    n_up, n_c = len(paths.up_asn), len(ci.codes)
    path_count = np.zeros(paths.size, dtype=np.int64)
    path_count[: len(prev.path_count)] = prev.path_count
    country = np.zeros((n_c, n_up), dtype=np.int64)
    country[: prev.country.shape[0], : prev.country.shape[1]] = prev.country
    afi = st.prefixes.afi[cells.prefix]
    on_ff = np.zeros(len(cells.peer), dtype=bool)
    for fam in (4, 6):
        rows = ctx.vis.ff_rows.get(fam, np.zeros(0, np.int64))
        if len(rows):
            is_ff = np.zeros(max(st.peers.size, int(rows.max()) + 1), dtype=bool)
            is_ff[rows] = True
            on_ff |= (afi == fam) & is_ff[cells.peer]
    old, new, prefix = cells.old[on_ff], cells.new[on_ff], cells.prefix[on_ff]
    if len(prefix) == 0:
        return UpstreamCounts(path_count, country)
    path_count -= np.bincount(old, minlength=paths.size)
    path_count += np.bincount(new, minlength=paths.size)
    path_count[0] = 0
    has_up = _has_upstream(ctx)
    owner, cc = ci.explode(prefix)
    cells_, signs = [], []
    for pid, sign in ((old[owner], -1), (new[owner], 1)):
        ok = has_up[pid]
        cells_.append(cc[ok].astype(np.int64) * n_up + paths.up_id[pid[ok]])
        signs.append(np.full(int(ok.sum()), sign, dtype=np.int64))
    cell, inv = np.unique(np.concatenate(cells_), return_inverse=True)
    net = np.bincount(inv, weights=np.concatenate(signs), minlength=len(cell))
    country.reshape(-1)[cell] += net.astype(np.int64)  # a view: adds into ``country``
    return UpstreamCounts(path_count, country)


def _has_upstream(ctx: BinContext) -> npt.NDArray[np.bool_]:
    paths = ctx.state.paths
    out: npt.NDArray[np.bool_] = (paths.upstream != 0) & (paths.origin != 0)
    return out


def upstream_partial(ctx: BinContext, counts: UpstreamCounts) -> tuple[list[pa.Table], list[pa.Table]]:
    """``upstream.<asn>.routes`` per entity: full-feed (peer, prefix) routes through each
    upstream; and the rows finalize would derive from them (routes, shares, upstream counts)."""
    st, paths = ctx.state, ctx.state.paths
    routes, afi_of = st.routes, st.prefixes.afi
    n_up = len(paths.up_asn)
    has_up = _has_upstream(ctx)
    ci = ctx.countries
    w_acc = np.zeros((len(ctx.watch), n_up), dtype=np.int64)
    for afi in (4, 6):
        rows = ctx.vis.ff_rows.get(afi, np.zeros(0, np.int64))
        if len(rows) == 0:
            continue
        for j, p in enumerate(ctx.watch.tolist()):
            if afi_of[p] == afi:
                pid = routes[rows, p]
                pid = pid[has_up[pid]]
                np.add.at(w_acc[j], paths.up_id[pid], 1)
    out: list[pa.Table] = []
    derived: list[pa.Table] = []

    def emit(etype: str, ents: pa.Array, e_idx: I64, up_id: I64, n: npt.NDArray[np.generic]) -> None:
        cnt = np.asarray(n, dtype=np.float64)
        out.append(
            upstream_block(ctx.bin_start_us, ctx.bin_seconds, etype, ents, e_idx, paths.up_asn[up_id], cnt)
        )
        derived.extend(_upstream_rows(ctx, etype, ents, np.asarray(e_idx, dtype=np.int64), up_id, cnt))

    path_count = counts.path_count
    keep = has_up & (path_count > 0)
    keep[0] = False
    pids = np.flatnonzero(keep)
    if len(pids):
        per_pair = np.bincount(
            paths.pair_id[pids], weights=path_count[pids].astype(np.float64), minlength=len(paths.pair_origin)
        )
        pairs = np.flatnonzero(per_pair)  # (origin, upstream) pairs with routes (rows have no order)
        a_idx = st.as_ids(paths.pair_origin[pairs])
        a_ok = a_idx >= 0
        emit("as", _as_names(ctx), a_idx[a_ok], paths.pair_up_id[pairs][a_ok], per_pair[pairs][a_ok])
    c_acc = counts.country.reshape(-1)
    nz = np.flatnonzero(c_acc)
    if len(nz):
        emit("country", pa.array(ci.codes, pa.string()), nz // n_up, nz % n_up, c_acc[nz])
    wr, wc = np.nonzero(w_acc)
    if len(wr):
        emit("prefix", pa.array(ctx.watch_text, pa.string()), wr, wc, w_acc[wr, wc])
    return out, derived


def _upstream_rows(
    ctx: BinContext, etype: str, ents: pa.Array, e_idx: I64, up_id: I64, routes: F64
) -> list[pa.Table]:
    """What finalize derives from one upstream block whose (entity, upstream) rows are
    distinct: routes and share per row, the number of upstreams per entity."""
    route_names, share_names = ctx.up_names.of(ctx.state.paths.up_asn)
    n_e = len(ents)
    totals = np.bincount(e_idx, weights=routes, minlength=n_e)
    n_ups = np.bincount(e_idx, minlength=n_e)
    has = np.flatnonzero(n_ups)
    up = np.asarray(up_id, dtype=np.int32)
    start, secs = ctx.bin_start_us, ctx.bin_seconds
    return [
        named(
            head(len(e_idx), start, secs, etype),
            ents,
            e_idx,
            pa.DictionaryArray.from_arrays(up, route_names),
            routes,
        ),
        named(
            head(len(e_idx), start, secs, etype),
            ents,
            e_idx,
            pa.DictionaryArray.from_arrays(up, share_names),
            routes / totals[e_idx],
        ),
        named(
            head(len(has), start, secs, etype),
            ents,
            has,
            const(len(has), M.UPSTREAM_COUNT),
            n_ups[has].astype(np.float64),
        ),
    ]


def _as_names(ctx: BinContext) -> pa.Array:
    return ctx.state.as_names()


@dataclass(frozen=True, slots=True)
class StateSignals:
    """The signals of a bin that depend on the routing state alone (visibility, full-feed
    peers, upstreams, and the rows finalize derives from the upstreams): equal for every bin
    in which the state did not change."""

    values: pa.Table
    upstreams: pa.Table
    derived: pa.Table

    def restamped(self, bin_start_us: int) -> StateSignals:
        """The same signals for another bin of the same length."""
        return StateSignals(*(restamp(t, bin_start_us) for t in (self.values, self.upstreams, self.derived)))


def state_signals(ctx: BinContext, counts: UpstreamCounts) -> StateSignals:
    vis = visibility_partial(ctx)
    ups, derived = upstream_partial(ctx, counts)
    v = pa.concat_tables(vis) if vis else SIGNAL_SCHEMA.empty_table()
    u = pa.concat_tables(ups) if ups else UPSTREAM_SCHEMA.empty_table()
    d = pa.concat_tables(derived) if derived else SIGNAL_SCHEMA.empty_table()
    return StateSignals(v, u, d)


def bin_partial(ctx: BinContext, upd: Updates, state: StateSignals) -> SignalPartial:
    """Every signal of one closed bin: its churn, with its state signals (and the rows
    finalize derives, written here where the groups are known)."""
    churn, reps, rep_rows = churn_partial(ctx, upd)
    v = pa.concat_tables([state.values, *churn]) if churn else state.values
    r = pa.concat_tables(reps) if reps else REPORTER_SCHEMA.empty_table()
    d = pa.concat_tables([state.derived, *rep_rows]) if rep_rows else state.derived
    return SignalPartial(v, state.upstreams, r, d)
