"""The streaming signal engine: feed element batches, get one :class:`ClosedBin` per closed bin.

Pure: no clock, files or sockets. Bins are ``[k·bin, (k+1)·bin)`` in UTC; a bin closes when an
element of a later bin arrives (or on :meth:`SignalEngine.flush`). Elements older than the open
bin (late arrivals) are counted in the open bin. Bins without elements between two bins with
elements are emitted (state carried, no churn) when the gap is at most ``fill_gap_seconds``;
longer gaps are treated as missing data and produce no bins.

A closed bin's ``signals`` are **change-coded**: its churn rows, and the state values
(visibility, full-feed peers, upstreams) that differ from the engine's previous bin; the
engine's first bin is a *keyframe* holding every state value. Readers carry state values
forward (docs/signals.md, "Change-coded signals"). With ``dense=True`` every bin is a keyframe
and also carries its mergeable :class:`~outagewatch.signals.partial.SignalPartial` (the Dask
path merges those).

The work is done by the compiled core (:mod:`outagewatch.signals._engine`, reached through
:class:`~outagewatch.signals.state.RoutingState`): per bin one call applies its elements, one
closes the bin and writes its rows. This module keeps the bins and the names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from outagewatch.model.element import ELEMENT_SCHEMA
from outagewatch.signals import _engine
from outagewatch.signals.mapping import CountryIndex, PrefixMapper
from outagewatch.signals.metrics import PEERS_REPORTING
from outagewatch.signals.names import FIXED_METRICS, Names
from outagewatch.signals.partial import (
    REPORTER_SCHEMA,
    SIGNAL_SCHEMA,
    TS,
    UPSTREAM_SCHEMA,
    SignalPartial,
    timestamps,
)
from outagewatch.signals.state import MODE_BIN, RoutingState, Rows, parse_prefix, rib_rows

DEFAULT_FULL_FEED_SHARE = 0.75
FIXED_VALUE_METRICS = FIXED_METRICS.index(PEERS_REPORTING)
"""Metric ids below this (visibility, full-feed peers, churn counts) are a dense partial's
``values``; the others (peers reporting, upstream rows) what finalize derives."""

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
    """One finished bin: its change-coded signal rows, its peers (table sizes, full feed),
    counts, and (engines made with ``dense=True``) its mergeable partial."""

    bin_start_us: int
    bin_seconds: int
    elements: int
    signals: pa.Table
    keyframe: bool
    peers: pa.Table
    sessions_down: int = 0
    partial: SignalPartial | None = None


@dataclass(slots=True)
class _Open:
    index: int
    parts: list[Rows] = field(default_factory=list)


class SignalEngine:
    """Routing state + per-bin signals, fed incrementally (files, live streams, replays)."""

    def __init__(
        self,
        *,
        bin_seconds: int = 300,
        mapper: PrefixMapper | None = None,
        watch: Sequence[str] = (),
        full_feed_share: float = DEFAULT_FULL_FEED_SHARE,
        fill_gap_seconds: int = 900,
        state: RoutingState | None = None,
        dense: bool = False,
    ) -> None:
        if not 60 <= bin_seconds <= 86400:
            raise ValueError(f"bin_seconds must be between 60 and 86400, got {bin_seconds}")
        if not 0.0 <= full_feed_share <= 1.0:
            raise ValueError(f"full_feed_share must be between 0 and 1, got {full_feed_share}")
        self.bin_seconds = bin_seconds
        self.bin_us = bin_seconds * 1_000_000
        self.mapper = mapper
        self.full_feed_share = full_feed_share
        self.fill_gap_bins = fill_gap_seconds // bin_seconds
        self.dense = dense
        self.state = state or RoutingState()
        self.countries = CountryIndex()
        self.names = Names(self.state.core)
        self.watch_text: list[str] = []
        self.watch = self._register_watch(watch)
        self._open: _Open | None = None
        self._last_closed: int | None = None
        self._keyframe = True
        self._peers_cache: tuple[tuple[bytes, bytes, bytes, int], list[pa.Array]] | None = None
        self._map_new_prefixes()

    def _register_watch(self, watch: Sequence[str]) -> npt.NDArray[np.int64]:
        """Watched prefixes (canonical text, each once) → their prefix ids."""
        texts = list(dict.fromkeys(_canonical(watch)))
        if not texts:
            return np.zeros(0, dtype=np.int64)
        parsed = [parse_prefix(p) for p in texts]
        afi = np.array([p[0] for p in parsed], dtype=np.uint8)
        addr = np.frombuffer(b"".join(p[1] for p in parsed), dtype=np.uint8).reshape(-1, 16)
        plen = np.array([p[2] for p in parsed], dtype=np.uint8)
        ids, _ = self.state.prefixes.ids(afi, addr, plen)
        self.watch_text = texts
        for i, text in zip(ids.tolist(), texts, strict=True):
            self.state.core.add_watch(int(i), text)
        return ids

    def _map_new_prefixes(self) -> None:
        """Countries of the prefixes new since the last call, to the core; names it made since."""
        core, ci = self.state.core, self.countries
        n, start, _, _ = core.sizes()
        if n > start:
            if self.mapper is None:
                ci.mapped = n
                core.add_country_rows(n - start, _NO_I32, _NO_I32, _NO_U64, _NO_U64)
            else:
                afi, addr, plen = core.prefixes(start, n)
                known = len(ci.codes)
                pfx, country, weight = ci.extend(
                    self.mapper,
                    np.frombuffer(afi, np.uint8),
                    np.frombuffer(addr, np.uint8).reshape(-1, 16),
                    np.frombuffer(plen, np.uint8),
                )
                if len(ci.codes) > known:
                    core.add_countries(ci.codes[known:])
                fam6 = np.frombuffer(afi, np.uint8)[pfx - start] != 4
                lo, hi = _addresses(weight, fam6)
                core.add_country_rows(n - start, pfx.astype(np.int32), country.astype(np.int32), lo, hi)
        _, _, n_ent, n_met = core.sizes()
        self.names.sync(n_ent, n_met)

    def feed_rib(self, batches: Iterable[pa.RecordBatch]) -> int:
        """Re-synchronise from a RIB dump: its collectors' peers are replaced; returns entries."""
        cleared: set[str] = set()
        n = 0
        for batch in batches:
            n += self.state.load_rib(batch, cleared=cleared)
        self._map_new_prefixes()
        return n

    def feed(self, batch: pa.RecordBatch) -> list[ClosedBin]:
        """Add elements; returns the bins this batch closed (in time order)."""
        _check_schema(batch.schema)
        if batch.num_rows == 0:
            return []
        batch = self._without_rib(batch)
        if batch.num_rows == 0:
            return []
        # an element of a bin before one already seen is late: it counts in the open bin (the
        # latest seen), however the stream is cut into batches
        floor = self._open.index if self._open is not None else _NO_BIN
        closed: list[ClosedBin] = []
        for b, lo, hi in _engine.bin_runs(_timestamps(batch), self.bin_us, floor):
            closed.extend(self._advance(b))
            assert self._open is not None
            self._open.parts.append(Rows(batch, lo, hi))
        return closed

    def _without_rib(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """RIB rows inside a batch are applied at once as plain route settings; the rest stays."""
        rib = rib_rows(batch)
        if rib is None:
            return batch
        self.state.load_rib(batch, rib=rib)
        return batch.filter(pa.array(~rib))

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

    def apply_outside(self, rows: Sequence[Rows]) -> int:
        """Apply elements outside any bin (they bring the state forward and are no bin's churn:
        a task's warm-up before its first bin); returns the rows applied."""
        return self.state.apply(rows)

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
        st, core = self.state, self.state.core
        start_us = open_bin.index * self.bin_us
        self._last_closed = open_bin.index
        n = st.ingest(open_bin.parts, MODE_BIN, churn=True) if open_bin.parts else 0
        self._map_new_prefixes()
        keyframe = self._keyframe or self.dense
        (et, ent, met, val), ups, reps, downs = core.close(keyframe, self.dense, self.full_feed_share)
        self._keyframe = False
        signals = self._table(start_us, et, ent, met, val)
        partial = self._partial(start_us, signals, met, ups, reps) if self.dense else None
        return ClosedBin(
            start_us, self.bin_seconds, n, signals, keyframe, self._peer_rows(start_us), int(downs), partial
        )

    def _table(self, start_us: int, et: bytes, ent: bytes, met: bytes, val: bytes) -> pa.Table:
        n = len(val) // 8
        return pa.Table.from_arrays(
            [
                timestamps(n, start_us),
                pa.array(np.full(n, self.bin_seconds, dtype=np.int32)),
                _dict(et, n, self.names.entity_types),
                _dict(ent, n, self.names.entities.array),
                _dict(met, n, self.names.metrics.array),
                pa.Array.from_buffers(pa.float64(), n, [None, pa.py_buffer(val)]),
            ],
            schema=SIGNAL_SCHEMA,
        )

    def _partial(
        self,
        start_us: int,
        signals: pa.Table,
        met: bytes,
        ups: tuple[bytes, bytes, bytes, bytes],
        reps: tuple[bytes, bytes, bytes],
    ) -> SignalPartial:
        """The bin's mergeable partial (dense engines): values, upstream routes, reporting
        peers, and the rows finalize would derive from them (written by the core)."""
        is_value = np.frombuffer(met, np.int32) < FIXED_VALUE_METRICS
        values = signals.filter(pa.array(is_value))
        derived = signals.filter(pa.array(~is_value))
        u_et, u_ent, u_asn, u_routes = ups
        n_u = len(u_routes) // 8
        upstreams = pa.Table.from_arrays(
            [
                timestamps(n_u, start_us),
                pa.array(np.full(n_u, self.bin_seconds, dtype=np.int32)),
                _dict(u_et, n_u, self.names.entity_types),
                _dict(u_ent, n_u, self.names.entities.array),
                pa.array(np.frombuffer(u_asn, np.uint32)),
                pa.array(np.frombuffer(u_routes, np.float64)),
            ],
            schema=UPSTREAM_SCHEMA,
        )
        r_et, r_ent, r_peer = reps
        n_r = len(r_peer) // 4
        keys = self.state.peers.key
        reporters = pa.Table.from_arrays(
            [
                timestamps(n_r, start_us),
                pa.array(np.full(n_r, self.bin_seconds, dtype=np.int32)),
                _dict(r_et, n_r, self.names.entity_types),
                _dict(r_ent, n_r, self.names.entities.array),
                pa.array(keys[np.frombuffer(r_peer, np.int32)], pa.uint64()),
            ],
            schema=REPORTER_SCHEMA,
        )
        return SignalPartial(values, upstreams, reporters, derived)

    def _peer_rows(self, start_us: int) -> pa.Table:
        """One row per (peer, family) with a route: its table size and full-feed class. The
        columns naming the peers are kept while the same peers have routes."""
        ids_b, afi_b, size_b, ff_b, asn_b = self.state.core.peer_rows()
        m = len(afi_b)
        # the naming columns are kept while the rows' peers, families and ASNs are the same
        key = (ids_b, afi_b, asn_b, self.state.peers.size)
        cache = self._peers_cache
        if cache is None or cache[0] != key:
            peers = self.state.peers
            ids = np.frombuffer(ids_b, np.int32)
            take = pa.array(ids.astype(np.int64))
            cols = [
                pa.array(np.full(m, self.bin_seconds, dtype=np.int32)),
                pa.array(peers.collector, pa.string()).take(take),
                pa.array(peers.ip, pa.string()).take(take),
                pa.array(np.frombuffer(asn_b, np.uint32)[ids].astype(np.uint64)),
                pa.array(np.frombuffer(afi_b, np.uint8)),
            ]
            cache = self._peers_cache = (key, cols)
        return pa.Table.from_arrays(
            [
                timestamps(m, start_us),
                *cache[1],
                pa.Array.from_buffers(pa.int64(), m, [None, pa.py_buffer(size_b)]),
                pa.array(np.frombuffer(ff_b, np.uint8).astype(bool)),
            ],
            schema=PEER_SCHEMA,
        )


_READ = ("timestamp", "collector", "kind", "peer_afi", "peer_ip", "peer_asn", "afi", "prefix", "prefix_len",
         "as_path", "as_path_segments", "new_state")  # fmt: skip
_CHECKED: list[pa.Schema] = []  # compared with == (a schema's hash costs ~20 µs; == 0.1 µs)


def _check_schema(schema: pa.Schema) -> None:
    """The columns the engine reads, with ELEMENT_SCHEMA's types (dictionary columns: any
    integer indices of strings); else a TypeError naming the column."""
    if any(schema == s for s in _CHECKED):
        return
    for name in _READ:
        want = ELEMENT_SCHEMA.field(name).type
        idx = schema.get_field_index(name)
        if idx < 0:
            raise TypeError(f"element batch has no column {name}")
        got = schema.field(idx).type
        ok = (
            pa.types.is_dictionary(got)
            and got.value_type == pa.string()
            and got.index_type in (pa.int8(), pa.int32())
            if pa.types.is_dictionary(want)
            else got == want
        )
        if not ok:
            raise TypeError(f"element batch column {name}: {got}, expected {want}")
    if len(_CHECKED) < 16:
        _CHECKED.append(schema)


def _dict(indices: bytes, n: int, dictionary: pa.Array) -> pa.DictionaryArray:
    """dictionary<int32, string> (``STR``) over int32 indices the core wrote."""
    idx = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(indices)])
    return pa.DictionaryArray.from_arrays(idx, dictionary, safe=False)


_NO_BIN = -(2**63)
_NO_I32 = np.zeros(0, np.int32)
_NO_U64 = np.zeros(0, np.uint64)


def _timestamps(batch: pa.RecordBatch) -> npt.NDArray[np.int64]:
    col = batch.column("timestamp")
    return np.asarray(col.view(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _addresses(
    weight: npt.NDArray[np.float64], fam6: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Country row weights (/24- or /48-equivalents) as whole addresses, in two uint64 halves:
    IPv4 × 2^8, IPv6 × 2^80 (2^128 and more clamp to 2^128 - 1)."""
    lo = np.zeros(len(weight), np.uint64)
    hi = np.zeros(len(weight), np.uint64)
    v4 = ~fam6
    lo[v4] = np.rint(np.ldexp(weight[v4], 8)).astype(np.uint64)
    w6 = np.ldexp(weight[fam6], 16)  # in /64s: hi word exactly, fraction = addresses within a /64
    whole = np.floor(w6)
    big = whole >= 2.0**64
    hi6 = np.where(big, 0.0, whole).astype(np.uint64)
    hi6[big] = np.uint64(2**64 - 1)
    lo6 = np.rint(np.ldexp(w6 - whole, 64))
    lo6 = np.where(lo6 >= 2.0**64, 2.0**64 - 2048, lo6).astype(np.uint64)
    lo6[big] = np.uint64(2**64 - 1)
    hi[fam6], lo[fam6] = hi6, lo6
    return lo, hi


def _canonical(prefixes: Sequence[str]) -> list[str]:
    import ipaddress

    return [str(ipaddress.ip_network(p, strict=False)) for p in prefixes]
