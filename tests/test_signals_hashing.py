"""The compiled key → id map agrees with a plain dict model, survives pickling and growth."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.signals.hashing import HashIndex

keys = st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 40), max_size=60)


@settings(max_examples=150, deadline=None)
@given(st.lists(keys, min_size=1, max_size=6), keys)
def test_get_or_insert_and_lookup_match_a_dict(batches: list[list[int]], probe: list[int]) -> None:
    index, model = HashIndex(), {}  # type: HashIndex, dict[int, int]
    for raw in batches:
        arr = np.array(raw, dtype=np.uint64)
        ids, new_pos = index.get_or_insert(arr)
        expected_new = []
        for pos, k in enumerate(raw):
            if k not in model:
                model[k] = len(model)
                expected_new.append(pos)
        assert ids.tolist() == [model[k] for k in raw]
        assert new_pos.tolist() == expected_new
        assert index.size == len(model)
    got = index.lookup(np.array(probe, dtype=np.uint64)).tolist()
    assert got == [model.get(k, -1) for k in probe]
    again = pickle.loads(pickle.dumps(index))
    assert again.keys().tolist() == list(model)
    assert again.lookup(np.array(probe, dtype=np.uint64)).tolist() == got


def test_growth_keeps_every_id() -> None:
    rng = np.random.default_rng(7)
    index = HashIndex()
    first = rng.integers(0, 2**63, 300_000, dtype=np.uint64)
    ids, new = index.get_or_insert(first)
    uniq = len(np.unique(first))
    assert index.size == uniq == len(new)
    assert (index.keys()[ids] == first).all()
    more = np.concatenate([first[:1000], np.arange(1, 5000, dtype=np.uint64)])
    ids2, _ = index.get_or_insert(more)
    assert (ids2[:1000] == ids[:1000]).all()
    assert (index.keys()[ids2] == more).all()
    assert index.nbytes() > 0


def test_rejects_wrong_item_sizes() -> None:
    index = HashIndex()
    with pytest.raises(TypeError):
        index._core.lookup(np.zeros(3, dtype=np.uint32), np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError):
        index._core.get_or_insert(
            np.zeros(3, dtype=np.uint64), np.zeros(2, dtype=np.int64), np.zeros(3, dtype=np.int64)
        )
