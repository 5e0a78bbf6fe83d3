"""The engine's two shortcuts change nothing, on real data: filled-gap bins reuse the previous
bin's state signals, and a bin redoes the visibility only of the prefixes it updated. Compared
bin for bin with an engine that recomputes everything, on real RIS updates with gaps between
the files (and a session reset in the data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from outagewatch import read_mrt
from outagewatch.engine.lookups import ranges_from_tsv
from outagewatch.signals import levelsums
from outagewatch.signals.engine import ClosedBin, SignalEngine
from outagewatch.signals.levelsums import LevelSums
from outagewatch.signals.partial import KEYS, SignalPartial, finalize
from outagewatch.signals.visibility import Visibility, compute

pytestmark = [pytest.mark.shared]


class _Everything(SignalEngine):
    """No shortcut: every bin's visibility, level sums, upstream counts and state signals
    computed from the routing state."""

    def _visibility(self, changes: object, ff: dict[int, np.ndarray]) -> tuple[Visibility, None, LevelSums]:
        st, pfx = self.state, self.state.prefixes
        vis = compute(st.routes, pfx.afi, st.paths.origin, st.peers.asn, ff, st.as_ids)
        return vis, None, levelsums.compute(vis, pfx.afi, pfx.weights(), self.countries, st.as_index.size)

    def _state_key(self) -> tuple[int, ...]:
        self._n = getattr(self, "_n", 0) + 1
        return (-self._n,)


def _canonical(table: pa.Table) -> pa.Table:
    plain = pa.schema(
        [pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in table.schema]
    )
    return table.cast(plain).sort_by([(k, "ascending") for k in [*KEYS, "value"]])


def _bins(engine: SignalEngine, files: list[Path]) -> list[ClosedBin]:
    out: list[ClosedBin] = []
    for f in files:
        for batch in read_mrt(str(f), collector="rrc04"):
            out += engine.feed(batch)
    return out + engine.flush()


def test_shortcuts_equal_full_recomputation_on_real_updates(shared_data: Path) -> None:
    files = sorted((shared_data / "mrt" / "ris-2022-week").glob("updates.*.gz"))[:20]
    geo = shared_data / "geo"
    mapper = ranges_from_tsv(
        geo / "ip_to_country_1.0.2_ipv4_ranges.tsv", geo / "ip_to_country_1.0.2_ipv6_ranges.tsv"
    )
    fast = _bins(SignalEngine(bin_seconds=300, mapper=mapper), files)
    slow = _bins(_Everything(bin_seconds=300, mapper=mapper), files)
    assert [b.bin_start_us for b in fast] == [b.bin_start_us for b in slow]
    assert sum(b.elements == 0 for b in fast) >= 2, "the input should hold filled gaps"
    for a, b in zip(fast, slow, strict=True):
        assert _canonical(finalize(a.partial)).equals(_canonical(finalize(b.partial))), a.bin_start_us
        plain = SignalPartial(a.partial.values, a.partial.upstreams, a.partial.reporters)
        assert a.partial.derived is not None
        assert _canonical(finalize(a.partial)).equals(_canonical(finalize(plain))), a.bin_start_us
        assert a.peers.equals(b.peers)
