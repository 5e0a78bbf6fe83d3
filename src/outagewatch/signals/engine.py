"""The streaming signal engine: feed element batches, get one partial per closed bin.

Pure: no clock, files or sockets. Bins are ``[k·bin, (k+1)·bin)`` in UTC; a bin closes when an
element of a later bin arrives (or on :meth:`SignalEngine.flush`). Elements older than the open
bin (late arrivals) are counted in the open bin. Bins without elements between two bins with
elements are emitted (state carried, no churn) when the gap is at most ``fill_gap_seconds``;
longer gaps are treated as missing data and produce no bins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pyarrow as pa

from outagewatch.model.element import KIND_RIB
from outagewatch.signals import columns as C
from outagewatch.signals import levelsums
from outagewatch.signals.changes import Encoder
from outagewatch.signals.levelsums import LevelSums
from outagewatch.signals.mapping import CountryIndex, PrefixMapper
from outagewatch.signals.partial import REPORTER_SCHEMA, TS, SignalPartial, finalize, restamp, timestamps
from outagewatch.signals.registry import parse_prefix
from outagewatch.signals.rollup import (
    BinContext,
    StateSignals,
    UpstreamCounts,
    UpstreamNames,
    bin_partial,
    count_upstreams,
    state_signals,
    updated_upstreams,
)
from outagewatch.signals.state import Cells, RoutingState
from outagewatch.signals.visibility import DEFAULT_FULL_FEED_SHARE, Visibility, compute, full_feed, update

PEER_SCHEMA = pa.schema(
    [
        ("bin_start", TS),
        ("bin_seconds", pa.int32()),
        ("collector", pa.string()),
        ("peer_ip", pa.string()),
        ("peer_asn", pa.uint64()),
        ("afi", pa.uint8()),
        ("table_size", pa.int64()),
        ("full_feed", pa.bool_()),
    ]
)


@dataclass(frozen=True, slots=True)
class ClosedBin:
    """One finished bin: its partial signals, its peers (table sizes, full feed) and counts.

    ``signals`` are its change-coded signal rows (:mod:`outagewatch.signals.changes`): the
    churn rows, and the state rows whose value changed since the engine's previous closed bin,
    or every state value the dense form holds when ``keyframe`` (the engine's first bin)."""

    bin_start_us: int
    bin_seconds: int
    elements: int
    partial: SignalPartial
    peers: pa.Table
    signals: pa.Table
    keyframe: bool
    sessions_down: int = 0


@dataclass(slots=True)
class _Open:
    index: int
    parts: list[C.Columns] = field(default_factory=list)


class SignalEngine:
    """Routing state + per-bin roll-ups, fed incrementally (files, live streams, replays)."""

    def __init__(
        self,
        *,
        bin_seconds: int = 300,
        mapper: PrefixMapper | None = None,
        watch: Sequence[str] = (),
        full_feed_share: float = DEFAULT_FULL_FEED_SHARE,
        fill_gap_seconds: int = 900,
        state: RoutingState | None = None,
    ) -> None:
        if not 60 <= bin_seconds <= 86400:
            raise ValueError(f"bin_seconds must be between 60 and 86400, got {bin_seconds}")
        self.bin_seconds = bin_seconds
        self.bin_us = bin_seconds * 1_000_000
        self.mapper = mapper
        self.full_feed_share = full_feed_share
        self.fill_gap_bins = fill_gap_seconds // bin_seconds
        self.state = state or RoutingState()
        self.countries = CountryIndex()
        self.watch_text = list(watch)
        self.watch = self._register_watch(watch)
        self._open: _Open | None = None
        self._last_closed: int | None = None
        # the state signals and peer rows of the last closed bin, with the state they came from:
        # a bin without elements after it (a filled gap) has the same, moved to its own start
        self._state_cache: tuple[tuple[int, ...], StateSignals, pa.Table] | None = None
        # the last visibility levels and what they hold for: when only listed updates changed the
        # full-feed peers' routes since, and those peers are the same, only the updated prefixes
        # are redone (visibility counts full-feed peers only: other peers' resets do not matter)
        self._vis_prev: tuple[tuple[object, ...], Visibility, LevelSums] | None = None  # with its sums
        self._ups_prev: UpstreamCounts | None = None  # upstream counts of the same state
        self._exact = levelsums.Exactness()
        self._up_names = UpstreamNames()
        self._encoder = Encoder()
        self._map_new_prefixes()

    def _register_watch(self, watch: Sequence[str]) -> np.ndarray:
        if not watch:
            return np.zeros(0, dtype=np.int64)
        parsed = [parse_prefix(p) for p in watch]
        afi = np.array([p[0] for p in parsed], dtype=np.uint8)
        addr = np.frombuffer(b"".join(p[1] for p in parsed), dtype=np.uint8).reshape(-1, 16)
        plen = np.array([p[2] for p in parsed], dtype=np.uint8)
        ids, _ = self.state.prefixes.ids(afi, addr, plen)
        self.watch_text = [f"{p}" for p in _canonical(watch)]
        return ids

    def _map_new_prefixes(self) -> None:
        pfx, start = self.state.prefixes, self.countries.mapped
        if pfx.size > start:
            self.countries.extend(self.mapper, pfx.afi[start:], pfx.addr[start:], pfx.plen[start:])

    def feed_rib(self, batches: Iterable[pa.RecordBatch]) -> int:
        """Re-synchronise from a RIB dump: its collectors' peers are replaced; returns entries."""
        first, n = True, 0
        for batch in batches:
            cols = C.from_batch(batch)
            self.state.load_rib(cols, first=first)
            first = first and not bool((cols.kind == KIND_RIB).any())
            n += int((cols.kind == KIND_RIB).sum())
        self._map_new_prefixes()
        return n

    def feed(self, batch: pa.RecordBatch) -> list[ClosedBin]:
        """Add elements; returns the bins this batch closed (in time order)."""
        if batch.num_rows == 0:
            return []
        cols = C.from_batch(batch)
        rib = cols.kind == KIND_RIB
        if rib.any():
            self.state.load_rib(C.take(cols, np.flatnonzero(rib)), first=False)
            cols = C.take(cols, np.flatnonzero(~rib))
        bins = cols.ts // self.bin_us
        if self._open is not None:
            bins = np.maximum(bins, self._open.index)
        closed: list[ClosedBin] = []
        for b, part in _split_by_bin(cols, bins):
            closed.extend(self._advance(b))
            assert self._open is not None
            self._open.parts.append(part)
        return closed

    def flush(self) -> list[ClosedBin]:
        """Close the open bin (end of input)."""
        if self._open is None:
            return []
        out = [self._close(self._open)]
        self._open = None
        return out

    def close_until(self, now_us: int) -> list[ClosedBin]:
        """Close the open bin if it ended at or before ``now_us`` (a live stream's clock, given by
        the caller: the engine never reads a clock). Later elements of that bin count as late."""
        if self._open is None or (self._open.index + 1) * self.bin_us > now_us:
            return []
        return self.flush()

    def _advance(self, b: int) -> list[ClosedBin]:
        if self._open is not None and self._open.index == b:
            return []
        out: list[ClosedBin] = []
        if self._open is not None:
            out.append(self._close(self._open))
        last = self._last_closed
        if last is not None and 0 < b - last - 1 <= self.fill_gap_bins:
            out.extend(self._close(_Open(k)) for k in range(last + 1, b))
        self._open = _Open(b)
        return out

    def _close(self, open_bin: _Open) -> ClosedBin:
        cols = C.concat(open_bin.parts) if open_bin.parts else None
        if cols is not None and len(cols) > 1 and bool((np.diff(cols.ts) < 0).any()):
            cols = C.take(cols, np.argsort(cols.ts, kind="stable"))
        st = self.state
        start_us = open_bin.index * self.bin_us
        self._last_closed = open_bin.index
        if cols is None and self._state_cache is not None and self._state_cache[0] == self._state_key():
            _, sig, peers = self._state_cache
            moved = sig.restamped(start_us)
            partial = SignalPartial(
                moved.values, moved.upstreams, REPORTER_SCHEMA.empty_table(), moved.derived
            )
            return self._coded(start_us, 0, partial, restamp(peers, start_us), 0)
        upd = st.apply(cols if cols is not None else _EMPTY)
        self._map_new_prefixes()
        size4, size6 = st.table_sizes()
        ff = {4: full_feed(size4, self.full_feed_share), 6: full_feed(size6, self.full_feed_share)}
        changes = st.take_changes()  # this bin's cells and any applied outside a bin since the last
        vis, moved_by, sums = self._visibility(changes, ff)
        ctx = BinContext(
            start_us,
            self.bin_seconds,
            st,
            self.countries,
            self.watch,
            self.watch_text,
            vis,
            {4: int(ff[4].sum()), 6: int(ff[6].sum())},
            sums,
            self._up_names,
        )
        ups = self._ups_prev
        counts = (
            updated_upstreams(ups, ctx, moved_by)
            if moved_by is not None and ups is not None
            else count_upstreams(ctx)
        )
        self._ups_prev = counts
        sig = state_signals(ctx, counts)
        peers = self._peer_rows(start_us, size4, size6, ff)
        self._state_cache = (self._state_key(), sig, peers)
        n = len(cols) if cols is not None else 0
        return self._coded(start_us, n, bin_partial(ctx, upd, sig), peers, upd.sessions_down)

    def _coded(
        self, start_us: int, elements: int, partial: SignalPartial, peers: pa.Table, sessions_down: int
    ) -> ClosedBin:
        """The closed bin with its change-coded signal rows."""
        dense = finalize(partial)
        signals, keyframe = self._encoder.step(dense, bin_start_us=start_us, bin_seconds=self.bin_seconds)
        return ClosedBin(
            start_us, self.bin_seconds, elements, partial, peers, signals, keyframe, sessions_down
        )

    def _visibility(
        self, changes: Cells | None, ff: dict[int, np.ndarray]
    ) -> tuple[Visibility, Cells | None, LevelSums]:
        """This bin's visibility, the cells it was moved on by from the last bin's (None when
        it was computed afresh; the upstream counts can be moved on by the same cells then),
        and its level sums; ``changes``: the cells updates changed since the last bin (None:
        unknown)."""
        st = self.state
        rows = (np.flatnonzero(ff[4]), np.flatnonzero(ff[6]))
        # valid while no cell was set directly and no full-feed peer was cleared or changed
        key = (
            st.rib_version,
            *(tuple(r.tolist()) for r in rows),
            *(tuple(st.peers.asn[r].tolist()) for r in rows),
            *(tuple(st.clears(r).tolist()) for r in rows),
        )
        prev = self._vis_prev
        moved_by = changes if prev is not None and prev[0] == key else None
        pfx, n_as = st.prefixes, st.as_index.size
        weight = pfx.weights()
        exact = self._exact.families(pfx.afi, weight, self.countries)
        if prev is not None and moved_by is not None:
            _, old_vis, old_sums = prev
            mark = np.zeros(pfx.size, dtype=bool)
            mark[moved_by.prefix] = True
            mark[len(old_vis.ff_level) :] = True  # prefixes new since
            dirty = np.flatnonzero(mark)
            vis, redone = update(old_vis, st.routes, pfx.afi, st.paths.origin, st.peers.asn, dirty, st.as_ids)
            sums = levelsums.moved(
                old_sums,
                old_vis,
                vis,
                dirty,
                redone,
                pfx.afi,
                weight,
                self.countries,
                n_as,
                exact,
                self._exact.odd,
            )
        else:
            vis = compute(st.routes, pfx.afi, st.paths.origin, st.peers.asn, ff, st.as_ids)
            sums = levelsums.compute(vis, pfx.afi, weight, self.countries, n_as, self._exact.odd)
        self._vis_prev = (key, vis, sums)
        return vis, moved_by, sums

    def _state_key(self) -> tuple[int, ...]:
        st = self.state
        return (st.version, st.peers.size, st.prefixes.size, st.paths.size, self.countries.mapped)

    def _peer_rows(
        self, start_us: int, size4: np.ndarray, size6: np.ndarray, ff: dict[int, np.ndarray]
    ) -> pa.Table:
        """One row per (peer, family) with a route: its table size and full-feed class."""
        peers = self.state.peers
        sel = [np.flatnonzero(size4 > 0), np.flatnonzero(size6 > 0)]
        take = pa.array(np.concatenate(sel), pa.int64())
        m = len(take)
        return pa.table(
            {
                "bin_start": timestamps(m, start_us),
                "bin_seconds": pa.array(np.full(m, self.bin_seconds, dtype=np.int32)),
                "collector": pa.array(peers.collector, pa.string()).take(take),
                "peer_ip": pa.array(peers.ip, pa.string()).take(take),
                "peer_asn": pa.array(peers.asn[take.to_numpy()].astype(np.uint64)),
                "afi": pa.array(np.repeat(np.array([4, 6], dtype=np.uint8), [len(s) for s in sel])),
                "table_size": pa.array(np.concatenate([size4[sel[0]], size6[sel[1]]]).astype(np.int64)),
                "full_feed": pa.array(np.concatenate([ff[4][sel[0]], ff[6][sel[1]]]).astype(bool)),
            },
            schema=PEER_SCHEMA,
        )


def _split_by_bin(cols: C.Columns, bins: np.ndarray) -> list[tuple[int, C.Columns]]:
    """The elements of each bin, bins in order. A batch is most often inside one bin, or spans
    a few in time order: then its parts are slices, with no sort and no copy."""
    lo, hi = int(bins.min()), int(bins.max())
    if lo == hi:
        return [(lo, cols)]
    if hi - lo <= 4096 and bool((bins[1:] >= bins[:-1]).all()):
        cuts = np.searchsorted(bins, np.arange(lo, hi + 2)).tolist()
        return [(lo + k, C.rows(cols, a, b)) for k, (a, b) in enumerate(pairwise(cuts)) if b > a]
    return [(int(b), C.take(cols, np.flatnonzero(bins == b))) for b in np.unique(bins).tolist()]


def _canonical(prefixes: Sequence[str]) -> list[str]:
    import ipaddress

    return [str(ipaddress.ip_network(p, strict=False)) for p in prefixes]


def _empty_columns() -> C.Columns:
    z = np.zeros(0)
    return C.Columns(
        ts=z.astype(np.int64),
        kind=z.astype(np.int8),
        peer_key=z.astype(np.uint64),
        collector=np.zeros(0, dtype=object),
        peer_afi=z.astype(np.uint8),
        peer_ip=np.zeros((0, 16), np.uint8),
        peer_asn=z.astype(np.uint32),
        afi=z.astype(np.uint8),
        prefix=np.zeros((0, 16), np.uint8),
        prefix_len=z.astype(np.uint8),
        path_hash=z.astype(np.uint64),
        path_offsets=np.zeros(1, np.int64),
        path_values=z.astype(np.uint32),
        seg_offsets=np.zeros(1, np.int64),
        seg_values=z.astype(np.uint16),
        new_state=z.astype(np.int16),
    )


_EMPTY = _empty_columns()
