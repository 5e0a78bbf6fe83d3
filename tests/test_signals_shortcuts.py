"""The engine's shortcuts change nothing, on real data: a bin redoes the visibility, level sums
and upstream counts only of the prefixes it updated (all of them when a peer was cleared or the
full-feed peers changed), and writes only the state values that changed. Compared bin for bin
with an engine that recounts everything at every close and writes dense rows, on real RIS
updates with gaps between the files (and a session reset in the data)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from engine_rows import densify, table_dict
from outagewatch import read_mrt
from outagewatch.engine.lookups import ranges_from_tsv
from outagewatch.signals.engine import ClosedBin, SignalEngine
from outagewatch.signals.partial import SignalPartial, finalize

pytestmark = [pytest.mark.shared]


class _Everything(SignalEngine):
    """No shortcut: every bin's visibility, level sums and upstream counts recounted from the
    routing state, and every row written (a dense engine)."""

    def _close(self, open_bin):  # type: ignore[no-untyped-def]
        self.state.core.recount()
        return super()._close(open_bin)


def _bins(engine: SignalEngine, files: list[Path]) -> list[ClosedBin]:
    out: list[ClosedBin] = []
    for f in files:
        for batch in read_mrt(str(f), collector="rrc04"):
            out += engine.feed(batch)
    return out + engine.flush()


def test_shortcuts_equal_full_recounts_on_real_updates(shared_data: Path) -> None:
    files = sorted((shared_data / "mrt" / "ris-2022-week").glob("updates.*.gz"))[:20]
    geo = shared_data / "geo"
    mapper = ranges_from_tsv(
        geo / "ip_to_country_1.0.2_ipv4_ranges.tsv", geo / "ip_to_country_1.0.2_ipv6_ranges.tsv"
    )
    fast = _bins(SignalEngine(bin_seconds=300, mapper=mapper), files)
    slow = _bins(_Everything(bin_seconds=300, mapper=mapper, dense=True), files)
    assert [b.bin_start_us for b in fast] == [b.bin_start_us for b in slow]
    assert sum(b.elements == 0 for b in fast) >= 2, "the input should hold filled gaps"
    assert fast[0].keyframe and not any(b.keyframe for b in fast[1:])
    changed = sum(b.signals.num_rows for b in fast[1:])
    dense = sum(b.signals.num_rows for b in slow[1:])
    assert changed < dense / 5, (changed, dense)  # the change coding pays
    for (start, got), b, a in zip(densify(fast), slow, fast, strict=True):
        assert b.partial is not None and b.partial.derived is not None
        assert got == table_dict(finalize(b.partial)), start
        plain = SignalPartial(b.partial.values, b.partial.upstreams, b.partial.reporters)
        assert got == table_dict(finalize(plain)), start
        assert isinstance(a.peers, pa.Table) and a.peers.equals(b.peers)
