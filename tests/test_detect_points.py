"""The fast paths under the detectors give exactly what the plain ones give: points built from
columns equal points built from rows, and ``evolve`` equals ``dataclasses.replace``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.detect.evolve import evolve
from outagewatch.detect.outage import OutageState
from outagewatch.detect.point import dense_points, points_from_columns
from outagewatch.detect.upstream import UpstreamState

BIN = 300
NAMES = [
    "ipv4.visible_slash24.ff_50pct",
    "all.updates",
    "upstream.4837.share",
    "upstream.22351.share",
    "upstream.count",
]

rows_strategy = st.lists(
    st.tuples(st.integers(0, 11), st.integers(0, len(NAMES) - 1), st.floats(0, 1e6, allow_nan=False)),
    max_size=60,
    unique_by=lambda r: (r[0], r[1]),
)


@settings(max_examples=200, deadline=None)
@given(rows=rows_strategy, gap=st.booleans(), incomplete=st.sets(st.integers(0, 11)))
def test_points_from_columns_equal_dense_points(
    rows: list[tuple[int, int, float]], gap: bool, incomplete: set[int]
) -> None:
    starts = [k * BIN for k in range(12) if not (gap and k == 5)]  # a gap takes the row path
    grid = [(s, s // BIN not in incomplete) for s in starts]
    rows = [r for r in rows if r[0] * BIN in starts]
    ok = {s: s % (2 * BIN) == 0 for s in starts}
    t = np.array([r[0] * BIN for r in rows], dtype=np.int64)
    codes = np.array([r[1] for r in rows], dtype=np.int64)
    values = np.array([r[2] for r in rows], dtype=np.float64)
    fast = points_from_columns(grid, BIN, t, codes, NAMES, values, ok)
    slow = dense_points(grid, BIN, [(r[0] * BIN, NAMES[r[1]], r[2]) for r in rows], ok)
    assert len(fast) == len(slow) == len(grid)
    for f, s in zip(fast, slow, strict=True):
        assert (f.bin_start, f.bin_seconds, f.complete, f.reliable) == (
            s.bin_start,
            s.bin_seconds,
            s.complete,
            s.reliable,
        )
        assert {m: f.get(m) for m in NAMES} == {m: s.get(m) for m in NAMES}
        assert f.upstream_shares() == s.upstream_shares()


def test_evolve_equals_replace_and_rejects_unknown_fields() -> None:
    up = UpstreamState(dominant="4837", settled_share=1.0, settled={"4837": 1.0})
    changes = {"candidate": "22351", "candidate_bins": 2, "single_open": True}
    assert evolve(up, **changes) == dataclasses.replace(up, **changes)
    assert up.candidate is None  # the original is unchanged
    out = OutageState()
    assert evolve(out, pending=((0, (1.0,)),)) == dataclasses.replace(out, pending=((0, (1.0,)),))
    with pytest.raises(TypeError, match="no field"):
        evolve(up, dominat="4837")
