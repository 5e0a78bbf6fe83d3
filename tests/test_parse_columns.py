"""Column semantics of the decoder on real records, plus hand-built records for RFC 6793."""

from __future__ import annotations

import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from outagewatch import ELEMENT_SCHEMA, read_mrt
from outagewatch.parse.bgpdump_format import as_path_text, communities_text, fmt_ipv6, render_batch
from outagewatch.parse.mrt import decode_bytes

TEST_DATA = ("mrt", "bgpdump-tests", "test_data")


def _table(shared_data: Path, *parts: str) -> pa.Table:
    return read_mrt(shared_data.joinpath(*parts), on_problem="ignore").read_all()


@pytest.mark.shared
def test_et_timestamps_keep_microseconds(shared_data: Path) -> None:
    table = _table(shared_data, *TEST_DATA, "updates.et-header.2015.gz")
    assert table.schema == ELEMENT_SCHEMA
    first = table.column("timestamp").cast(pa.int64())[0].as_py()
    assert first == 1445565678_509481
    states = table.filter(pc.equal(table.column("kind").cast(pa.string()), "S"))
    assert states.column("old_state").to_pylist()[:2] == [1, 2]
    assert states.column("new_state").to_pylist()[:2] == [2, 4]
    assert states.column("afi").to_pylist()[0] == 0


@pytest.mark.shared
def test_as4_path_merged_into_two_byte_sessions(shared_data: Path) -> None:
    table = _table(shared_data, *TEST_DATA, "updates.20100722.2015.gz")
    two_byte = table.filter(pc.equal(table.column("mrt_subtype"), 1))
    paths = two_byte.column("as_path").to_pylist()
    merged = [p for p in paths if any(a > 65535 for a in p)]
    assert [5385, 3356, 2914, 4230, 262685] in merged
    assert all(23456 not in p for p in merged)


@pytest.mark.shared
def test_as_set_origin_and_rendering(shared_data: Path) -> None:
    table = _table(shared_data, *TEST_DATA, "bview.20020722.2337.gz")
    last_is_set = pc.greater(pc.list_value_length(table.column("origin_asns")), 1)
    sets = table.filter(last_is_set).slice(0, 50).to_pylist()
    assert sets
    for row in sets:
        assert row["origin_asn"] is None
        code = row["as_path_segments"][-1]
        assert code >> 8 == 1
        assert row["origin_asns"] == row["as_path"][-(code & 0xFF) :]
        assert as_path_text(row["as_path"], row["as_path_segments"]).endswith("}")
    plain = table.slice(0, 10).to_pylist()
    assert all(r["origin_asn"] == r["as_path"][-1] == r["origin_asns"][0] for r in plain)


@pytest.mark.shared
def test_communities_large_communities_and_mapped_next_hop(shared_data: Path) -> None:
    table = _table(shared_data, "mrt", "modern", "rrc01.updates.20241001.0055.gz")
    large = table.filter(pc.greater(pc.list_value_length(table.column("large_communities")), 0))
    assert large.num_rows > 1000
    assert all(len(t) == 3 for t in large.column("large_communities")[0].as_py())
    row = table.filter(pc.greater(pc.list_value_length(table.column("communities")), 0)).slice(0, 1)
    values = row.column("communities")[0].as_py()
    assert communities_text(values) == " ".join(f"{v >> 16}:{v & 0xFFFF}" for v in values)
    rib = _table(shared_data, *TEST_DATA, "bview.64k_stream_overflow.gz").slice(0, 1).to_pylist()[0]
    assert rib["nexthop_afi"] == 6
    assert fmt_ipv6(rib["nexthop"]) == "::ffff:193.0.0.56"


@pytest.mark.shared
def test_add_path_ids(shared_data: Path) -> None:
    table = _table(shared_data, *TEST_DATA, "bview.ipv6_unicast_add_path.gz")
    assert table.column("path_id").null_count == 0
    assert table.column("path_id").to_pylist()[:2] == [59, 61]
    assert set(table.column("afi").to_pylist()) == {6}


# --- hand-built BGP4MP records (RFC 6793 section 4.2.3) ---------------------------------


def _attr(flags: int, code: int, value: bytes) -> bytes:
    return bytes([flags, code, len(value)]) + value


def _segment(kind: int, asns: list[int], width: int) -> bytes:
    return bytes([kind, len(asns)]) + b"".join(a.to_bytes(width, "big") for a in asns)


def _update_record(attrs: bytes, nlri: bytes, subtype: int = 1) -> bytes:
    width = 4 if subtype == 4 else 2
    body = struct.pack(">HH", 0, len(attrs)) + attrs + nlri
    message = b"\xff" * 16 + struct.pack(">HB", 19 + len(body), 2) + body
    head = (65001).to_bytes(width, "big") + (65000).to_bytes(width, "big") + struct.pack(">HH", 0, 1)
    record = head + bytes([10, 0, 0, 1, 10, 0, 0, 2]) + message
    return struct.pack(">IHHI", 1_400_000_000, 16, subtype, len(record)) + record


def _decode_one(attrs: bytes, subtype: int = 1) -> dict[str, object]:
    data = _update_record(attrs, bytes([24, 192, 0, 2]), subtype)
    table, problems = decode_bytes(data, source="built")
    assert problems == []
    assert table.num_rows == 1
    row: dict[str, object] = table.to_pylist()[0]
    return row


BASE = _attr(0x40, 1, b"\x00") + _attr(0x40, 3, bytes([10, 0, 0, 1]))


def test_as4_path_replaces_as_trans_tail() -> None:
    attrs = (
        BASE
        + _attr(0x40, 2, _segment(2, [65001, 3356, 23456, 23456], 2))
        + _attr(0xC0, 17, _segment(2, [70000, 80000], 4))
        + _attr(0xC0, 7, (23456).to_bytes(2, "big") + bytes([1, 2, 3, 4]))
        + _attr(0xC0, 18, (70000).to_bytes(4, "big") + bytes([1, 2, 3, 4]))
    )
    row = _decode_one(attrs)
    assert row["as_path"] == [65001, 3356, 70000, 80000]
    assert row["origin_asn"] == 80000
    assert row["aggregator_asn"] == 70000
    assert row["aggregator_ip"] == bytes([1, 2, 3, 4])
    assert row["peer_asn"] == 65001


def test_longer_as4_path_is_ignored() -> None:
    attrs = (
        BASE
        + _attr(0x40, 2, _segment(2, [65001, 23456], 2))
        + _attr(0xC0, 17, _segment(2, [70000, 80000, 90000], 4))
    )
    assert _decode_one(attrs)["as_path"] == [65001, 23456]


def test_as4_path_ignored_when_aggregator_is_not_as_trans() -> None:
    attrs = (
        BASE
        + _attr(0x40, 2, _segment(2, [65001, 23456], 2))
        + _attr(0xC0, 17, _segment(2, [70000], 4))
        + _attr(0xC0, 7, (65010).to_bytes(2, "big") + bytes([1, 2, 3, 4]))
        + _attr(0xC0, 18, (70000).to_bytes(4, "big") + bytes([1, 2, 3, 4]))
    )
    row = _decode_one(attrs)
    assert row["as_path"] == [65001, 23456]
    assert row["aggregator_asn"] == 65010


def test_confederation_and_set_segments_stay_distinguishable() -> None:
    path = _segment(3, [64512, 64513], 4) + _segment(2, [3356], 4) + _segment(1, [10, 20], 4)
    row = _decode_one(BASE + _attr(0x40, 2, path), subtype=4)
    assert row["as_path"] == [64512, 64513, 3356, 10, 20]
    assert row["as_path_segments"] == [3 * 256 + 2, 2 * 256 + 1, 1 * 256 + 2]
    assert row["origin_asns"] == [10, 20]
    assert row["origin_asn"] is None
    assert as_path_text(row["as_path"], row["as_path_segments"]) == "(64512 64513) 3356 {10,20}"  # type: ignore[arg-type]


def _mrt(mrt_type: int, subtype: int, body: bytes, when: int = 1_400_000_000) -> bytes:
    return struct.pack(">IHHI", when, mrt_type, subtype, len(body)) + body


def _peer_index() -> bytes:
    peers = bytes([0x03]) + bytes([9, 9, 9, 9]) + bytes(15) + b"\x01" + (70000).to_bytes(4, "big")
    peers += bytes([0x02]) + bytes([9, 9, 9, 8]) + bytes([10, 0, 0, 9]) + (65009).to_bytes(4, "big")
    return _mrt(13, 1, bytes([1, 2, 3, 4]) + struct.pack(">H", 0) + struct.pack(">H", 2) + peers)


def _rib_entry(peer: int, attrs: bytes, path_id: int | None = None) -> bytes:
    head = struct.pack(">HI", peer, 1_399_999_000)
    if path_id is not None:
        head += struct.pack(">I", path_id)
    return head + struct.pack(">H", len(attrs)) + attrs


def test_rib_generic_multicast_and_peer_table() -> None:
    attrs = BASE + _attr(0x40, 2, _segment(2, [65009, 3356], 4))
    generic = struct.pack(">IHB", 7, 1, 1) + bytes([16, 10, 1]) + struct.pack(">H", 1) + _rib_entry(1, attrs)
    multicast = struct.pack(">I", 8) + bytes([24, 10, 2, 3]) + struct.pack(">H", 1) + _rib_entry(0, attrs)
    data = _peer_index() + _mrt(13, 6, generic) + _mrt(13, 3, multicast)
    table, problems = decode_bytes(data)
    assert problems == []
    rows = table.to_pylist()
    assert [r["prefix"][:3] for r in rows] == [bytes([10, 1, 0]), bytes([10, 2, 3])]
    assert [r["prefix_len"] for r in rows] == [16, 24]
    assert rows[0]["peer_asn"] == 65009 and rows[0]["peer_ip"][:4] == bytes([10, 0, 0, 9])
    assert rows[1]["peer_asn"] == 70000 and rows[1]["peer_afi"] == 6
    assert {r["kind"] for r in rows} == {"B"} and {r["mrt_subtype"] for r in rows} == {6, 3}
    assert all(r["as_path"] == [65009, 3356] and r["origin_asn"] == 3356 for r in rows)


def test_bgp4mp_add_path_mp_reach_ipv6() -> None:
    nexthop = bytes([0x20, 0x01, 0x0D, 0xB8]) + bytes(11) + b"\x01"
    nlri = struct.pack(">I", 7) + bytes([32, 0x20, 0x01, 0x0D, 0xB8])
    mp = struct.pack(">HBB", 2, 1, 16) + nexthop + b"\x00" + nlri
    attrs = _attr(0x40, 1, b"\x00") + _attr(0x40, 2, _segment(2, [65001], 4)) + _attr(0x80, 14, mp)
    withdrawn = struct.pack(">I", 9) + bytes([8, 10])
    body = struct.pack(">H", len(withdrawn)) + withdrawn + struct.pack(">H", len(attrs)) + attrs
    message = b"\xff" * 16 + struct.pack(">HB", 19 + len(body), 2) + body
    head = (65001).to_bytes(4, "big") + (65000).to_bytes(4, "big") + struct.pack(">HH", 0, 1)
    record = head + bytes([10, 0, 0, 1, 10, 0, 0, 2]) + message
    table, problems = decode_bytes(_mrt(17, 9, struct.pack(">I", 123456) + record))
    assert problems == []
    withdrawal, announcement = table.to_pylist()
    assert (withdrawal["kind"], withdrawal["path_id"], withdrawal["prefix"][:1]) == ("W", 9, bytes([10]))
    assert (announcement["kind"], announcement["path_id"], announcement["afi"]) == ("A", 7, 6)
    assert announcement["nexthop_afi"] == 6 and fmt_ipv6(announcement["nexthop"]) == "2001:db8::1"
    assert table.column("timestamp").cast(pa.int64())[0].as_py() == 1_400_000_000_123456
    lines = list(render_batch(table.to_batches()[0]))
    assert lines[0] == "BGP4MP_ET_AP|1400000000.123456|W|10.0.0.1|65001|10.0.0.0/8|9"
    assert lines[1].startswith(
        "BGP4MP_ET_AP|1400000000.123456|A|10.0.0.1|65001|2001:db8::/32|7|65001|IGP|2001:db8::1|"
    )


def test_local_message_peer_is_the_first_pair() -> None:
    data = _update_record(BASE + _attr(0x40, 2, _segment(2, [65000], 4)), bytes([24, 192, 0, 2]), subtype=4)
    local = data[:6] + struct.pack(">H", 7) + data[8:]
    table, _ = decode_bytes(local)
    row = table.to_pylist()[0]
    assert row["peer_asn"] == 65001 and row["mrt_subtype"] == 7
    assert next(iter(render_batch(table.to_batches()[0]))).startswith(
        "BGP4MP_LOCAL|1400000000|A|10.0.0.1|65001|"
    )


def _many_updates(count: int, first_asn: int) -> bytes:
    """count UPDATE records, each with its own AS path and community (so reuse would show)."""
    out = []
    for k in range(count):
        asn = first_asn + k
        attrs = (
            BASE
            + _attr(0x40, 2, _segment(2, [65001, asn], 2))
            + _attr(0xC0, 8, (asn & 0xFFFF).to_bytes(2, "big") + b"\x00\x07")
        )
        out.append(_update_record(attrs, bytes([24, 10, k >> 8 & 0xFF, k & 0xFF])))
    return b"".join(out)


def test_a_column_outlives_its_batch_and_the_decoder() -> None:
    """The decoder's column blocks go back to its block cache only when Arrow releases them:
    a column kept after its batch, its decoder and later decodes still holds its own values."""
    table, _ = decode_bytes(_many_updates(3000, 1000), collector="c1", batch_size=1024)
    paths, comms, collector = table["as_path"], table["communities"], table["collector"]
    expected = (paths.to_pylist(), comms.to_pylist())
    del table
    for _ in range(5):  # later batches take recycled blocks: none may be ours
        decode_bytes(_many_updates(3000, 40000), collector="c2", batch_size=1024)
    assert (paths.to_pylist(), comms.to_pylist()) == expected
    assert set(collector.to_pylist()) == {"c1"}
    assert paths.to_pylist()[5] == [65001, 1005]


def test_decoded_batches_validate_and_unimported_capsules_are_freed() -> None:
    import resource

    from outagewatch.parse import _mrtcore  # type: ignore[attr-defined]

    data = _many_updates(2000, 1)
    table, _ = decode_bytes(data, collector="rrc99")
    table.validate(full=True)
    assert table.schema == ELEMENT_SCHEMA
    assert table["collector"].to_pylist() == ["rrc99"] * 2000
    assert table["kind"].to_pylist() == ["A"] * 2000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(300):  # a capsule dropped without import releases its columns
        used, capsule, problems = _mrtcore.Decoder(collector="x").decode(data, True, 65536)
        assert used == len(data) and capsule is not None and problems == []
        del capsule
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 64, f"peak RSS grew {grown_mb:.0f} MB over 300 dropped batches"
