"""Growable arrays: appending equals concatenating, and earlier views never change."""

from __future__ import annotations

import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.signals.growable import Growable

chunks = st.lists(st.lists(st.integers(0, 2**16), max_size=40), max_size=30)


@settings(max_examples=200, deadline=None)
@given(chunks)
def test_appends_equal_concatenation_and_keep_earlier_views(parts: list[list[int]]) -> None:
    g = Growable([7], np.uint32)
    want = np.array([7], dtype=np.uint32)
    views = []
    for p in parts:
        views.append((g.view, want.copy()))
        g.append(np.array(p, dtype=np.uint32))
        want = np.concatenate([want, np.array(p, dtype=np.uint32)])
        assert g.view.dtype == np.uint32 and len(g) == len(want)
        assert (g.view == want).all()
    for view, then in views:
        assert (view == then).all()  # rows appended later, into the same buffer or a new one
    back = pickle.loads(pickle.dumps(g))
    assert (back.view == want).all()
    back.append([1, 2])
    assert (back.view[-2:] == [1, 2]).all() and (g.view == want).all()


def test_rows_of_a_shape_append_whole() -> None:
    g = Growable(np.zeros((0, 16)), np.uint8)
    for k in range(40):
        g.append(np.full((k % 3, 16), k, dtype=np.uint8))
    assert g.view.shape == (sum(k % 3 for k in range(40)), 16)
    assert g.view[:, 5].tolist() == [k for k in range(40) for _ in range(k % 3)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(st.text(max_size=5), max_size=8), st.integers(0, 3)), max_size=20))
def test_growing_strings_equal_the_concatenated_strings(parts: list[tuple[list[str], int]]) -> None:
    """Appends of (sliced) string arrays; every array handed out before stays as it was."""
    import pyarrow as pa

    from outagewatch.signals.growable import GrowableStrings

    g = GrowableStrings()
    want: list[str] = []
    handed = []
    for strings, skip in parts:
        arr = pa.array(["x"] * skip + strings, pa.string()).slice(skip)  # a non-zero offset
        handed.append((g.array, list(want)))
        g.append(arr)
        want += strings
        assert g.array.to_pylist() == want and len(g) == len(want)
    for arr, then in handed:
        assert arr.to_pylist() == then
    back = pickle.loads(pickle.dumps(g))
    assert back.array.to_pylist() == want
