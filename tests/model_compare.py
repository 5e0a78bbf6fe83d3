"""Compare closed bins, model against engine: the engine's ``ClosedBin`` as plain dicts, and a
comparer whose failure names the first differing bin and its first differing keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from engine_rows import densify
from engine_rows import rows as table_rows
from outagewatch.signals.engine import ClosedBin
from signal_model import ModelBin, PeerRowKey

MAX_SHOWN = 10


def engine_bins(closed: Iterable[ClosedBin]) -> list[ModelBin]:
    """The engine's closed bins in the model's form: each bin's dense rows (its change rows
    carried forward from the last keyframe, :func:`engine_rows.densify`) as
    ``(entity_type, entity, metric) -> value`` and ``c.peers`` as
    ``(collector, peer_ip, afi) -> (table_size, full_feed)``. Raises AssertionError on a
    duplicated key or a row stamped with another bin."""
    closed = list(closed)
    out = []
    for c, (_, rows) in zip(closed, densify(closed), strict=True):
        t = c.signals
        starts = t["bin_start"].cast("int64").to_pylist()
        secs = t["bin_seconds"].to_pylist()
        assert all(s == c.bin_start_us for s in starts), f"bin {_when(c.bin_start_us)}: a row of another bin"
        assert all(s == c.bin_seconds for s in secs), f"bin {_when(c.bin_start_us)}: a row of another length"
        keys = [(et, e, m) for et, e, m, _ in table_rows(t)]
        assert len(set(keys)) == len(keys), f"bin {_when(c.bin_start_us)}: duplicated signal row"
        peers: dict[PeerRowKey, tuple[int, bool]] = {}
        p = c.peers
        for collector, ip, afi, size, full in zip(
            p["collector"].to_pylist(),
            p["peer_ip"].to_pylist(),
            p["afi"].to_pylist(),
            p["table_size"].to_pylist(),
            p["full_feed"].to_pylist(),
            strict=True,
        ):
            assert (collector, ip, afi) not in peers, f"bin {_when(c.bin_start_us)}: duplicated peer row"
            peers[collector, ip, afi] = (size, full)
        out.append(ModelBin(c.bin_start_us, c.elements, rows, peers, c.sessions_down))
    return out


def _when(us: int) -> str:
    return f"{datetime.fromtimestamp(us / 1e6, tz=UTC):%Y-%m-%d %H:%M:%S}Z ({us} µs)"


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return bool(a == b)


def _show(v: Any) -> str:
    return "absent" if v is None else repr(v)


def bin_differences(expected: ModelBin, got: ModelBin) -> list[tuple[object, Any, Any]]:
    """Every (what, expected, got) that differs between two bins (None: absent)."""
    diffs: list[tuple[object, Any, Any]] = []
    for what in ("elements", "sessions_down"):
        e, g = getattr(expected, what), getattr(got, what)
        if e != g:
            diffs.append((what, e, g))
    for key in sorted(expected.rows.keys() | got.rows.keys()):
        e, g = expected.rows.get(key), got.rows.get(key)
        if not _same(e, g):
            diffs.append((key, e, g))
    for pk in sorted(expected.peers.keys() | got.peers.keys()):
        e, g = expected.peers.get(pk), got.peers.get(pk)
        if e != g:
            diffs.append((("peer", *pk), e, g))
    return diffs


def compare_bins(expected: Sequence[ModelBin], got: Sequence[ModelBin]) -> None:
    """Raise AssertionError naming the first bin that differs (bin starts, element counts,
    rows, peer rows) and up to ten of its differing keys, expected against got."""
    e_starts = [b.bin_start_us for b in expected]
    g_starts = [b.bin_start_us for b in got]
    if e_starts != g_starts:
        i = next(
            (k for k, (a, b) in enumerate(zip(e_starts, g_starts, strict=False)) if a != b),
            min(len(e_starts), len(g_starts)),
        )
        e_at = _when(e_starts[i]) if i < len(e_starts) else "no bin"
        g_at = _when(g_starts[i]) if i < len(g_starts) else "no bin"
        raise AssertionError(
            f"bins differ: expected {len(expected)} bins, got {len(got)}; "
            f"first difference at bin #{i}: expected {e_at}, got {g_at}"
        )
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        diffs = bin_differences(e, g)
        if diffs:
            lines = [
                f"bin #{i} at {_when(e.bin_start_us)}: {len(diffs)} differences "
                f"(expected {len(e.rows)} rows, got {len(g.rows)}), expected vs got:"
            ]
            lines += [f"  {what}: {_show(a)} vs {_show(b)}" for what, a, b in diffs[:MAX_SHOWN]]
            if len(diffs) > MAX_SHOWN:
                lines.append(f"  … and {len(diffs) - MAX_SHOWN} more")
            raise AssertionError("\n".join(lines))
