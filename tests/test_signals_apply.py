"""Applying updates to the routing state against a plain dict model, and the small pure pieces
around it (a batch cut into its bins, the partials' row grouping).

- Sequential application: the last announcement of a (peer, prefix) holds until a withdrawal
  or the peer's session goes down; table sizes and clear counts follow.
- Batches are cut into runs of one bin (late rows in the latest); grouping by hashed keys
  equals grouping by sorting.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.signals import _engine
from outagewatch.signals import partial as P
from outagewatch.signals.build import batch, element
from outagewatch.signals.partial import TS
from outagewatch.signals.state import RoutingState

T0 = 1_600_000_000
PEERS = ["192.0.2.1", "192.0.2.2", "2001:db8::7", "192.0.2.4"]
PREFIXES = ["10.0.0.0/8", "10.0.0.0/9", "2001:db8::/32", "11.0.0.0/24", "2001:db8::/48", "2001:db8:1::/48"]
ops = st.lists(
    st.one_of(
        # update: peer, prefix, origin (0: a withdrawal)
        st.tuples(
            st.just("u"), st.integers(0, len(PEERS) - 1), st.integers(0, len(PREFIXES) - 1), st.integers(0, 3)
        ),
        st.tuples(st.just("d"), st.integers(0, len(PEERS) - 1), st.just(0), st.just(0)),
    ),
    max_size=60,
)


def _element(i: int, op: tuple[str, int, int, int]) -> dict[str, object]:
    kind, p, x, origin = op
    peer = PEERS[p]
    if kind == "d":
        return element(T0 + i, "S", peer=peer, peer_asn=100 + p, old_state=6, new_state=1)
    if origin == 0:
        return element(T0 + i, "W", peer=peer, peer_asn=100 + p, prefix=PREFIXES[x])
    return element(T0 + i, "A", peer=peer, peer_asn=100 + p, prefix=PREFIXES[x], path=[100 + p, 7, origin])


@settings(max_examples=300, deadline=None)
@given(ops, st.integers(1, 9), st.booleans())
def test_apply_equals_sequential_dict_model(
    seq: list[tuple[str, int, int, int]], size: int, small: bool
) -> None:
    # small: tables far below what the stream needs, grown on the way
    state = RoutingState(peer_capacity=1, prefix_capacity=64) if small else RoutingState()
    elements = [_element(i, op) for i, op in enumerate(seq)]
    for i in range(0, len(elements), size):
        state.apply(batch(elements[i : i + size]))
    model: dict[tuple[str, str], int] = {}
    downs = dict.fromkeys(PEERS, 0)
    for kind, p, x, origin in seq:
        if kind == "d":
            model = {k: v for k, v in model.items() if k[0] != PEERS[p]}
            downs[PEERS[p]] += 1
        elif origin:
            model[(PEERS[p], PREFIXES[x])] = origin
        else:
            model.pop((PEERS[p], PREFIXES[x]), None)
    peer, prefix, path = state.route_table()
    ips = state.peers.ip
    got = {
        (ips[pe], px): int(o)
        for pe, px, o in zip(
            peer.tolist(), state.prefixes.text(prefix), state.paths.origin[path], strict=True
        )
    }
    assert got == model
    assert state.route_count() == len(model)
    v4, v6 = state.table_sizes()
    for k, ip in enumerate(ips):
        mine = [x for (p, x) in model if p == ip]
        assert v4[k] == sum(1 for x in mine if ":" not in x) and v6[k] == sum(1 for x in mine if ":" in x)
    known = np.arange(state.peers.size, dtype=np.int64)
    assert dict(zip(ips, state.clears(known).tolist(), strict=True)) == {ip: downs[ip] for ip in ips}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-(10**6), 3 * 10**6), max_size=60),
    st.sampled_from([300_000_000, 60_000_000, 7]),
    st.one_of(st.none(), st.integers(-5, 20)),
)
def test_a_batch_is_cut_into_runs_of_one_bin_late_rows_in_the_latest(
    offsets: list[int], bin_us: int, floor: int | None
) -> None:
    """Each row's bin is the largest of its own, every earlier row's and the open bin's (a late
    row goes to the latest bin seen); runs of equal bins, ascending, cover every row once."""
    t0 = 1_600_000_000_000_000 if bin_us > 7 else -50
    ts = np.array([t0 + o for o in offsets], np.int64)
    lowest = -(2**63) if floor is None else t0 // bin_us + floor
    want = np.maximum(np.maximum.accumulate(ts // bin_us), lowest) if len(ts) else ts
    runs = _engine.bin_runs(ts, bin_us, lowest)
    got = np.zeros(len(ts), np.int64)
    at = 0
    for b, lo, hi in runs:
        assert lo == at and hi > lo
        got[lo:hi] = b
        at = hi
    assert at == len(ts)
    assert [b for b, _, _ in runs] == sorted({b for b, _, _ in runs})
    assert got.tolist() == want.tolist()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([60, 300]), st.integers(0, 1), st.integers(0, 4)),
        min_size=1,
        max_size=40,
    )
)
def test_grouping_by_hash_ids_equals_the_sorted_grouping(rows: list[tuple[int, int, int, int]]) -> None:
    """Both give the same partition of rows into (bin, entity) groups and a first row of each."""
    t = pa.table(
        {
            "bin_start": pa.array([r[0] * 300_000_000 for r in rows], pa.int64()).cast(TS),
            "bin_seconds": pa.array([r[1] for r in rows], pa.int32()),
            "entity_type": pa.array([("as", "country")[r[2]] for r in rows], pa.string()).dictionary_encode(),
            "entity": pa.array([str(r[3]) for r in rows], pa.string()).dictionary_encode(),
        }
    ).combine_chunks()
    gid, first = P._groups(t)
    cols = [
        t["bin_start"].cast(pa.int64()).to_numpy().view(np.uint64),
        t["bin_seconds"].to_numpy().astype(np.uint64),
        t["entity_type"].chunk(0).indices.to_numpy().astype(np.uint64),
        t["entity"].chunk(0).indices.to_numpy().astype(np.uint64),
    ]
    s_gid, s_first = P._sorted_groups(cols)
    want = {tuple(r) for r in rows}
    assert len(first) == len(s_first) == len(want)
    for g in (gid, s_gid):  # rows share a group exactly when their keys are equal
        for i in range(len(rows)):
            for j in range(len(rows)):
                assert (g[i] == g[j]) == (rows[i] == rows[j])
    assert sorted(gid[first].tolist()) == list(range(len(want)))
    assert sorted(s_gid[s_first].tolist()) == list(range(len(want)))
