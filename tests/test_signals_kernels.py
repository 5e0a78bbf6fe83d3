"""The routing state's compiled kernels against plain definitions.

- The path, prefix and peer keys are bit for bit the NumPy hash spelled out here (snapshots
  store path keys, so the definition must not drift), on generated lists and on real updates.
- ``apply`` equals a dict model of sequential application (updates, session downs, table
  sizes, clear counts), and rejects bad input before writing anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch import read_mrt
from outagewatch.signals import _rollupcore, _statecore  # type: ignore[attr-defined]
from outagewatch.signals import columns as C
from outagewatch.signals import partial as P
from outagewatch.signals.hashing import path_hashes, peer_keys, prefix_keys
from outagewatch.signals.partial import TS

U64 = npt.NDArray[np.uint64]
M1, M2, GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def mix64(x: U64) -> U64:
    with np.errstate(over="ignore"):
        z = x + GOLDEN
        z = (z ^ (z >> np.uint64(30))) * M1
        z = (z ^ (z >> np.uint64(27))) * M2
    return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def combine(*parts: U64) -> U64:
    h = np.zeros(len(parts[0]), dtype=np.uint64)
    for i, part in enumerate(parts):
        with np.errstate(over="ignore"):
            h = mix64(h ^ mix64(part.astype(np.uint64) + np.uint64(i + 1)))
    return h


def list_hash(offsets: npt.NDArray[np.int64], values: npt.NDArray[np.generic]) -> U64:
    """Per list: mix64(Σ mix64(v·M1 + position·M2 + 1) ^ mix64(length)), wrapping arithmetic."""
    out = np.zeros(len(offsets) - 1, dtype=np.uint64)
    for j in range(len(out)):
        v = values[offsets[j] : offsets[j + 1]].astype(np.uint64)
        pos = np.arange(len(v), dtype=np.uint64)
        with np.errstate(over="ignore"):
            terms = mix64(v * M1 + pos * M2 + np.uint64(1))
            total = np.uint64(terms.sum(dtype=np.uint64)) if len(v) else np.uint64(0)
        out[j] = mix64(np.array([total], np.uint64) ^ mix64(np.array([len(v)], np.uint64)))[0]
    return out


def words(addr: npt.NDArray[np.uint8]) -> tuple[U64, U64]:
    w = np.ascontiguousarray(addr).view(">u8").reshape(-1, 2).astype(np.uint64)
    return w[:, 0].copy(), w[:, 1].copy()


lists = st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=8), max_size=12)


@settings(max_examples=200, deadline=None)
@given(lists, st.data())
def test_path_hashes_equal_the_numpy_definition(paths: list[list[int]], data: st.DataObject) -> None:
    segs = [data.draw(st.lists(st.integers(0, 2**16 - 1), max_size=3)) for _ in paths]
    p_off = np.concatenate([[0], np.cumsum([len(p) for p in paths])]).astype(np.int64)
    s_off = np.concatenate([[0], np.cumsum([len(s) for s in segs])]).astype(np.int64)
    p_val = np.array([a for p in paths for a in p], dtype=np.uint32)
    s_val = np.array([a for s in segs for a in s], dtype=np.uint16)
    got = path_hashes(p_off, p_val, s_off, s_val)
    assert got.tolist() == combine(list_hash(p_off, p_val), list_hash(s_off, s_val)).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([4, 6]), st.binary(min_size=16, max_size=16), st.integers(0, 128))))
def test_prefix_and_peer_keys_equal_the_numpy_definition(rows: list[tuple[int, bytes, int]]) -> None:
    afi = np.array([r[0] for r in rows], dtype=np.uint8)
    addr = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.uint8).reshape(-1, 16)
    plen = np.array([r[2] for r in rows], dtype=np.uint8)
    hi, lo = words(addr)
    assert prefix_keys(afi, addr, plen).tolist() == combine(afi, plen, hi, lo).tolist()
    coll = np.arange(len(rows), dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    assert peer_keys(coll, addr).tolist() == combine(coll, hi, lo).tolist()


def test_keys_of_real_updates(shared_data: Path) -> None:
    f = sorted((shared_data / "mrt" / "ris-2022-week").glob("*.gz"))[3]
    batch = next(iter(read_mrt(f, collector="rrc04")))
    cols = C.from_batch(batch)
    sub = np.arange(0, len(cols), 7)  # every 7th element keeps the loop in Python short
    p_off, p_val = C._take_lists(cols.path_offsets, cols.path_values, sub)
    s_off, s_val = C._take_lists(cols.seg_offsets, cols.seg_values, sub)
    assert (cols.path_hash[sub] == combine(list_hash(p_off, p_val), list_hash(s_off, s_val))).all()
    assert (np.diff(cols.path_offsets) == 0).any()  # withdrawals: empty paths hash the same way
    hi, lo = words(cols.prefix)
    assert (
        prefix_keys(cols.afi, cols.prefix, cols.prefix_len) == combine(cols.afi, cols.prefix_len, hi, lo)
    ).all()


# --- apply ------------------------------------------------------------------------------------

N_PEERS, N_PFX = 4, 6
ops = st.lists(
    st.one_of(
        st.tuples(st.just("u"), st.integers(0, N_PEERS - 1), st.integers(0, N_PFX - 1), st.integers(0, 3)),
        st.tuples(st.just("d"), st.integers(0, N_PEERS - 1), st.just(0), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, N_PEERS - 1), st.integers(0, N_PFX - 1), st.integers(1, 3))), ops)
def test_apply_equals_sequential_dict_model(
    start: list[tuple[int, int, int]], seq: list[tuple[str, int, int, int]]
) -> None:
    afi = np.array([4, 4, 6, 4, 6, 6], dtype=np.uint8)
    routes = np.zeros((N_PEERS + 1, N_PFX + 2), dtype=np.uint32)  # capacity larger than live part
    model: dict[tuple[int, int], int] = {}
    for p, x, v in start:
        routes[p, x] = v
        model[(p, x)] = v
    sizes = np.zeros((N_PEERS + 1, 2), dtype=np.int64)
    for p, x in model:
        sizes[p, int(afi[x] != 4)] += 1
    clears = np.zeros(N_PEERS, dtype=np.int64)
    upd = [(i, o) for i, o in enumerate(seq) if o[0] == "u"]
    down = [(i, o) for i, o in enumerate(seq) if o[0] == "d"]
    prev = np.zeros(len(upd), dtype=np.uint32)
    _statecore.apply(
        routes,
        np.array([i for i, _ in upd], dtype=np.int64),
        np.array([o[1] for _, o in upd], dtype=np.int64),
        np.array([o[2] for _, o in upd], dtype=np.int64),
        np.array([o[3] for _, o in upd], dtype=np.uint32),
        np.array([i for i, _ in down], dtype=np.int64),
        np.array([o[1] for _, o in down], dtype=np.int64),
        afi,
        sizes,
        clears,
        prev,
    )
    want_prev, want_clears = [], [0] * N_PEERS
    for kind, p, x, v in seq:
        if kind == "d":
            model = {k: w for k, w in model.items() if k[0] != p}
            want_clears[p] += 1
            continue
        want_prev.append(model.get((p, x), 0))
        if v:
            model[(p, x)] = v
        else:
            model.pop((p, x), None)
    assert prev.tolist() == want_prev
    assert clears.tolist() == want_clears
    got = {(int(p), int(x)): int(routes[p, x]) for p, x in zip(*np.nonzero(routes), strict=True)}
    assert got == model
    want_sizes = np.zeros((N_PEERS + 1, 2), dtype=np.int64)
    for p, x in model:
        want_sizes[p, int(afi[x] != 4)] += 1
    assert (sizes == want_sizes).all()


def _args(**over: object) -> list[object]:
    base: dict[str, object] = {
        "routes": np.zeros((2, 3), dtype=np.uint32),
        "upd_pos": np.array([0, 1], dtype=np.int64),
        "upd_peer": np.array([0, 1], dtype=np.int64),
        "upd_prefix": np.array([2, 0], dtype=np.int64),
        "upd_path": np.array([5, 6], dtype=np.uint32),
        "down_pos": np.zeros(0, dtype=np.int64),
        "down_peer": np.zeros(0, dtype=np.int64),
        "prefix_afi": np.array([4, 4, 6], dtype=np.uint8),
        "sizes": None,
        "clears": np.zeros(2, dtype=np.int64),
        "prev": np.zeros(2, dtype=np.uint32),
    }
    base.update(over)
    return list(base.values())


def test_apply_rejects_bad_input_before_writing() -> None:
    routes = np.zeros((2, 3), dtype=np.uint32)
    with pytest.raises(IndexError, match="update 1: peer 2"):
        _statecore.apply(*_args(routes=routes, upd_peer=np.array([0, 2], dtype=np.int64)))
    assert not routes.any()  # the first, valid update was not written either
    with pytest.raises(IndexError, match="prefix 3"):
        _statecore.apply(*_args(routes=routes, upd_prefix=np.array([0, 3], dtype=np.int64)))
    with pytest.raises(IndexError, match="down 0"):
        _statecore.apply(
            *_args(routes=routes, down_pos=np.array([0], np.int64), down_peer=np.array([-1], np.int64))
        )
    assert not routes.any()
    with pytest.raises(TypeError, match="upd_path must hold 4-byte items"):
        _statecore.apply(*_args(upd_path=np.array([5, 6], dtype=np.int64)))
    with pytest.raises(ValueError, match="equally long"):
        _statecore.apply(*_args(upd_prefix=np.array([0], dtype=np.int64)))
    with pytest.raises(ValueError, match="prev is too short"):
        _statecore.apply(*_args(prev=np.zeros(1, dtype=np.uint32)))
    with pytest.raises(ValueError, match="2-d"):
        _statecore.apply(*_args(routes=np.zeros(6, dtype=np.uint32)))
    prev = np.zeros(2, dtype=np.uint32)
    _statecore.apply(*_args(routes=routes, prev=prev))
    assert routes[0, 2] == 5 and routes[1, 0] == 6 and prev.tolist() == [0, 0]


def test_path_hashes_reject_offsets_past_the_values() -> None:
    with pytest.raises(ValueError, match="path_offsets are not ascending"):
        path_hashes(
            np.array([0, 3], np.int64),
            np.zeros(2, np.uint32),
            np.array([0, 0], np.int64),
            np.zeros(0, np.uint16),
        )
    with pytest.raises(ValueError, match="n \\+ 1 offsets"):
        path_hashes(
            np.array([0, 0], np.int64),
            np.zeros(0, np.uint32),
            np.array([0], np.int64),
            np.zeros(0, np.uint16),
        )


# --- roll-up loops ----------------------------------------------------------------------------


def reference_level_sums(
    ent: npt.NDArray[np.int64],
    n_ent: int,
    lf: npt.NDArray[np.int8],
    la: npt.NDArray[np.int8],
    w: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Column k < 5: rows with ff level > k; 5 ≤ k < 9: asn level ≥ k − 3; then the weights."""
    out = np.zeros((n_ent, 18))
    for k in range(5):
        sel = lf > k
        out[:, k] = np.bincount(ent[sel], minlength=n_ent)
        out[:, 9 + k] = np.bincount(ent[sel], weights=w[sel], minlength=n_ent)
    for k in range(4):
        sel = la >= k + 2
        out[:, 5 + k] = np.bincount(ent[sel], minlength=n_ent)
        out[:, 14 + k] = np.bincount(ent[sel], weights=w[sel], minlength=n_ent)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 5), st.integers(0, 5), st.integers(-8, 8)), max_size=50
    )
)
def test_level_sums_equal_per_threshold_counts(rows: list[tuple[int, int, int, int]]) -> None:
    ent = np.array([r[0] for r in rows], dtype=np.int64)
    lf = np.array([r[1] for r in rows], dtype=np.int8)
    la = np.array([r[2] for r in rows], dtype=np.int8)
    w = np.exp2(np.array([r[3] for r in rows], dtype=np.float64))  # dyadic: sums are exact
    out = np.zeros((5, 18))
    _rollupcore.level_sums(ent, lf, la, w, out)
    assert (out == reference_level_sums(ent, 5, lf, la, w)).all()
    one = np.zeros((1, 18))
    _rollupcore.level_sums(None, lf, la, w, one)
    assert (one == reference_level_sums(np.zeros(len(rows), np.int64), 1, lf, la, w)).all()


def test_level_sums_reject_bad_rows() -> None:
    out = np.zeros((2, 18))
    one = np.ones(1, dtype=np.float64)
    with pytest.raises(IndexError, match="entity 2"):
        _rollupcore.level_sums(np.array([2]), np.array([1], np.int8), np.array([1], np.int8), one, out)
    with pytest.raises(IndexError, match="level 6"):
        _rollupcore.level_sums(np.array([0]), np.array([6], np.int8), np.array([1], np.int8), one, out)
    assert not out.any()
    with pytest.raises(ValueError, match="equally long"):
        _rollupcore.level_sums(None, np.array([1], np.int8), np.array([1, 2], np.int8), one, out)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 6).flatmap(
        lambda n_e: st.tuples(
            st.lists(
                st.lists(st.sampled_from([0.0, -0.0, 1.0, -2.5, 7.0, 5e-324]), min_size=3, max_size=3),
                min_size=n_e,
                max_size=n_e,
            ),
            st.lists(st.booleans(), min_size=n_e, max_size=n_e) | st.none(),
            st.booleans(),
        )
    )
)
def test_matrix_rows_equal_masked_flattening(case: tuple[list[list[float]], list[bool] | None, bool]) -> None:
    raw, mask, nonzero = case
    values = np.array(raw, dtype=np.float64).reshape(len(raw), 3)
    n = values.size
    ent, met, val = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.float64)
    m_arr = None if mask is None else np.array(mask, dtype=bool)
    m = _rollupcore.matrix_rows(values, m_arr, nonzero, ent, met, val)
    keep = np.ones(values.shape, dtype=bool) if m_arr is None else np.repeat(m_arr[:, None], 3, axis=1)
    if nonzero:
        keep &= values != 0
    e_ref, k_ref = np.nonzero(keep)
    assert ent[:m].tolist() == e_ref.tolist()
    assert met[:m].tolist() == k_ref.tolist()
    assert val[:m].tolist() == values[keep].tolist()


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


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.lists(st.booleans(), min_size=5, max_size=5)), max_size=40))
def test_flag_counts_equal_per_column_bincounts(rows: list[tuple[int, list[bool]]]) -> None:
    ent = np.array([r[0] for r in rows], dtype=np.int64)
    flags = np.array([r[1] for r in rows], dtype=bool).reshape(len(rows), 5)
    out = np.zeros((4, 5))
    _rollupcore.flag_counts(ent, flags, out)
    want = np.stack([np.bincount(ent[flags[:, k]], minlength=4) for k in range(5)], axis=1)
    assert (out == want).all()
    with pytest.raises(IndexError, match="entity 4"):
        _rollupcore.flag_counts(np.array([4]), np.ones((1, 5), dtype=bool), out)
    with pytest.raises(ValueError, match="rows x k"):
        _rollupcore.flag_counts(ent, np.ones((len(rows), 4), dtype=bool), out)
    # rows picked out of a larger flag matrix, some twice, in any order
    pick = np.arange(len(rows), dtype=np.int64)[::-1].repeat(2)
    ent2 = np.repeat(ent[::-1], 2)
    out2 = np.zeros((4, 5))
    _rollupcore.flag_counts(ent2, np.vstack([flags, np.ones((3, 5), bool)]), out2, pick)
    assert (out2 == 2 * want).all()
    if len(rows):
        with pytest.raises(IndexError, match="flag row 0"):
            _rollupcore.flag_counts(ent[:1], flags, out, np.array([len(rows)], dtype=np.int64))
        with pytest.raises(ValueError, match="equally long"):
            _rollupcore.flag_counts(ent, flags, out, np.zeros(len(rows) + 1, dtype=np.int64))


def test_exactness_sorts_odd_rows_out_and_stops_at_too_large_totals() -> None:
    """Rows whose weight is a whole multiple of the family's grain are fine, the others odd
    (summed afresh each bin); a family is moved on while its fine total stays small enough."""
    from outagewatch.signals.levelsums import Exactness
    from outagewatch.signals.mapping import CountryIndex
    from outagewatch.signals.registry import unit_weight

    ci = CountryIndex()
    ex = Exactness()
    afi = np.array([4, 4, 6, 6], dtype=np.uint8)
    plen = np.array([32, 8, 64, 19], dtype=np.uint8)  # the finest and coarsest fine weights
    assert ex.families(afi, unit_weight(afi, plen), ci) == {4: True, 6: True}
    assert not ex.odd.prefix.any()
    afi2 = np.concatenate([afi, np.array([6, 4], np.uint8)])
    plen2 = np.concatenate([plen, np.array([65, 24], np.uint8)])  # 2^-17 /48-equivalents: odd
    assert ex.families(afi2, unit_weight(afi2, plen2), ci) == {4: True, 6: True}
    assert ex.odd.prefix.tolist() == [False] * 4 + [True, False]
    assert ex.odd.prefix_ids[6].tolist() == [4] and ex.odd.prefix_ids[4].tolist() == []
    afi3 = np.concatenate([afi2, np.array([6], np.uint8)])
    plen3 = np.concatenate([plen2, np.array([4], np.uint8)])  # 2^44 /48s: the total is too large
    assert ex.families(afi3, unit_weight(afi3, plen3), ci) == {4: True, 6: False}
    assert ex.families(afi3, unit_weight(afi3, plen3), ci) == {4: True, 6: False}  # and stays so


@pytest.mark.parametrize("shape", ["one bin", "in order", "out of order", "far apart"])
def test_batches_split_by_bin_keep_each_element_once_with_its_path(shared_data: Path, shape: str) -> None:
    """Parts are the elements of each bin, bins ascending; slices keep valid list offsets."""
    from outagewatch.signals.engine import _split_by_bin

    f = sorted((shared_data / "mrt" / "ris-2022-week").glob("*.gz"))[5]
    cols = C.from_batch(next(iter(read_mrt(f, collector="rrc04"))))
    n = len(cols)
    bins = {
        "one bin": np.full(n, 7, np.int64),
        "in order": np.sort(np.random.default_rng(1).integers(0, 5, n)),
        "out of order": np.random.default_rng(2).integers(0, 5, n),
        "far apart": np.where(np.arange(n) < n // 2, 0, 10**6).astype(np.int64),
    }[shape]
    parts = _split_by_bin(cols, bins)
    assert [b for b, _ in parts] == sorted(set(bins.tolist()))
    for b, part in parts:
        sel = np.flatnonzero(bins == b)
        assert (part.ts == cols.ts[sel]).all()
        assert (
            path_hashes(part.path_offsets, part.path_values, part.seg_offsets, part.seg_values)
            == cols.path_hash[sel]
        ).all()


def _draw_routes(data: st.DataObject, rows: int, cols: int, max_path: int) -> npt.NDArray[np.uint32]:
    """A rows × cols route matrix of path ids 0 (no route) .. max_path."""
    cells = st.lists(st.integers(0, max_path), min_size=cols, max_size=cols)
    return np.array(data.draw(st.lists(cells, min_size=rows, max_size=rows)), dtype=np.uint32)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 5), st.integers(1, 9), st.data())
def test_prefix_counts_equal_the_matrix_definition(n_rows: int, n_cols: int, data: st.DataObject) -> None:
    """Routes, distinct peer groups and the origin range per prefix, as from the dense submatrix."""
    routes = _draw_routes(data, n_rows + 1, n_cols + 2, max_path=4)
    origin = np.array([0, 7, 7, 9, 0], dtype=np.uint32)  # path 4 has an unknown origin
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, n_rows), min_size=1))), dtype=np.int64)
    group = np.array(
        data.draw(st.lists(st.integers(0, 2), min_size=len(rows), max_size=len(rows))), dtype=np.int64
    )
    cols = np.array(data.draw(st.lists(st.integers(0, n_cols + 1), max_size=8)), dtype=np.int64)
    n = len(cols)
    count, asn_count = np.empty(n, np.int64), np.empty(n, np.int64)
    omin, omax = np.empty(n, np.uint32), np.empty(n, np.uint32)
    _rollupcore.prefix_counts(routes, rows, group, 3, cols, origin, count, asn_count, omin, omax)
    sub = routes[np.ix_(rows, cols)]
    present = sub != 0
    assert count.tolist() == present.sum(axis=0).tolist()
    assert asn_count.tolist() == [len(set(group[present[:, j]].tolist())) for j in range(n)]
    o = origin[sub]
    assert omin.tolist() == [int(o[present[:, j], j].min()) if present[:, j].any() else 0 for j in range(n)]
    assert omax.tolist() == [int(o[present[:, j], j].max()) if present[:, j].any() else 0 for j in range(n)]


def test_prefix_counts_reject_bad_ids() -> None:
    routes = np.zeros((2, 3), dtype=np.uint32)
    out = [np.empty(1, np.int64), np.empty(1, np.int64), np.empty(1, np.uint32), np.empty(1, np.uint32)]
    one = np.array([0], np.int64)
    with pytest.raises(IndexError, match="rows 0: id 2"):
        _rollupcore.prefix_counts(routes, np.array([2]), one, 1, one, np.zeros(1, np.uint32), *out)
    with pytest.raises(IndexError, match="cols 0: id 3"):
        _rollupcore.prefix_counts(routes, one, one, 1, np.array([3]), np.zeros(1, np.uint32), *out)
    routes[0, 0] = 5
    with pytest.raises(IndexError, match="path id past"):
        _rollupcore.prefix_counts(routes, one, one, 1, one, np.zeros(1, np.uint32), *out)
    with pytest.raises(ValueError, match="count must hold 8-byte items"):
        _rollupcore.prefix_counts(
            routes, one, one, 1, one, np.zeros(9, np.uint32), np.empty(1, np.int32), *out[1:]
        )


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.integers(1, 7), st.data())
def test_tally_and_row_sizes_equal_bincounts(n_rows: int, n_cols: int, data: st.DataObject) -> None:
    routes = _draw_routes(data, n_rows + 1, n_cols + 1, max_path=5)
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, n_rows), min_size=1))), dtype=np.int64)
    items = np.array(data.draw(st.lists(st.integers(0, n_cols), max_size=9)), dtype=np.int64)
    ent = np.array(
        data.draw(st.lists(st.integers(0, 2), min_size=len(items), max_size=len(items))), dtype=np.int64
    )
    path_class = np.array([-1, 0, 1, -1, 1, 2], dtype=np.int64)  # per path id; -1: not counted
    acc = np.zeros((3, 3), dtype=np.int64)
    _rollupcore.tally(routes, rows, items, ent, path_class, acc)
    want = np.zeros((3, 3), dtype=np.int64)
    for r in rows:
        for j, p in enumerate(items):
            pid = routes[r, p]
            if pid and path_class[pid] >= 0:
                want[ent[j], path_class[pid]] += 1
    assert (acc == want).all()
    per_path = np.zeros((1, 6), dtype=np.int64)
    _rollupcore.tally(routes, rows, items, None, None, per_path)
    sub = routes[np.ix_(rows, items)].reshape(-1)
    assert per_path[0, 1:].tolist() == np.bincount(sub, minlength=6)[1:].tolist() and per_path[0, 0] == 0
    afi = np.array(
        data.draw(st.lists(st.sampled_from([4, 6]), min_size=n_cols, max_size=n_cols)), dtype=np.uint8
    )
    sizes = np.zeros((n_rows, 2), dtype=np.int64)
    _rollupcore.row_sizes(routes, n_rows, afi, sizes)
    live = routes[:n_rows, :n_cols] != 0
    assert sizes[:, 0].tolist() == live[:, afi == 4].sum(axis=1).tolist()
    assert sizes[:, 1].tolist() == live[:, afi != 4].sum(axis=1).tolist()


def test_tally_rejects_ids_out_of_range() -> None:
    routes = np.array([[0, 9]], dtype=np.uint32)
    one, acc = np.array([0], np.int64), np.zeros((1, 3), np.int64)
    with pytest.raises(IndexError, match="path id or class"):
        _rollupcore.tally(routes, one, np.array([1]), None, None, acc)
    with pytest.raises(IndexError, match="item 0"):
        _rollupcore.tally(routes, one, np.array([2]), None, None, acc)
    with pytest.raises(IndexError, match="item 0"):
        _rollupcore.tally(routes, one, np.array([0]), np.array([1]), None, acc)
    with pytest.raises(ValueError, match="do not fit"):
        _rollupcore.row_sizes(routes, 2, np.array([4, 4], np.uint8), np.zeros((2, 2), np.int64))


def test_peers_reporting_counts_across_blocks_of_the_same_bin_and_entity_type() -> None:
    """Blocks that share a (bin, entity type) are grouped together, not block by block."""
    a = P.reporter_block(
        0, 300, "as", pa.array(["1", "2"]), np.array([0, 1]), np.array([0, 1]), np.array([7, 8], np.uint64)
    )
    b = P.reporter_block(
        0, 300, "as", pa.array(["2"]), np.array([0]), np.array([0]), np.array([9], np.uint64)
    )
    c = P.reporter_block(
        300_000_000, 300, "as", pa.array(["2"]), np.array([0]), np.array([0]), np.array([9], np.uint64)
    )
    for blocks, want in (([a, b], {"1": 1, "2": 2}), ([a, c], {"1": 1, "2": 1})):
        rows = pa.concat_tables(P._peers_reporting(pa.concat_tables(blocks))).to_pylist()
        got: dict[str, float] = {}
        for r in rows:
            if r["bin_start"].timestamp() == 0:
                got[r["entity"]] = r["value"]
        assert got == want
