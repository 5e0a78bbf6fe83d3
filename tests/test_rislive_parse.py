"""RIS Live JSON → element batches, against the real captures in ../shared/data/rislive/."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.model.element import ELEMENT_SCHEMA
from outagewatch.parse.rislive import decode
from outagewatch.parse.rislive_raw import decode_update


def _ip(raw: bytes, afi: int) -> str:
    return str(ipaddress.ip_address(raw[:4] if afi == 4 else raw))


def _stream(shared: Path) -> list[str]:
    return (shared / "rislive" / "ris-live-stream.json").read_text().splitlines()


def test_capture_stream_decodes_every_message_type(shared_data: Path) -> None:
    lines = _stream(shared_data)
    d = decode(lines, source="ris-live-stream.json")
    assert d.batch.schema == ELEMENT_SCHEMA
    assert d.counts == {
        "UPDATE": 1,
        "RIS_PEER_STATE": 1,
        "ris_error": 1,
        "OPEN": 1,
        "NOTIFICATION": 1,
        "KEEPALIVE": 1,
        "invalid": 1,
    }
    assert d.errors == ["this is a test error message"]
    # the capture's last line lacks its closing brace: a problem naming the message, not a crash
    assert len(d.problems) == 1
    assert d.problems[0].record_index == 6 and "invalid JSON" in d.problems[0].cause
    rows = d.batch.to_pylist()
    assert [r["kind"] for r in rows] == ["A", "S"]
    update = json.loads(lines[0])["data"]
    a = rows[0]
    assert a["timestamp"].timestamp() == pytest.approx(update["timestamp"])
    assert a["collector"] == "rrc00" and a["peer_asn"] == 11708
    assert _ip(a["peer_ip"], a["peer_afi"]) == update["peer"]
    assert f"{_ip(a['prefix'], a['afi'])}/{a['prefix_len']}" == "45.161.192.0/23"
    assert _ip(a["nexthop"], a["nexthop_afi"]) == update["announcements"][0]["next_hop"]
    assert a["as_path"] == update["path"] and a["as_path_segments"] == [2 * 256 + 12]
    assert a["origin_asn"] == 268481 and a["origin_asns"] == [268481] and a["origin"] == 0
    assert (a["mrt_type"], a["mrt_subtype"]) == (16, 4)
    s = rows[1]
    assert s["collector"] == "rrc01" and (s["old_state"], s["new_state"]) == (6, 1)
    assert (s["mrt_type"], s["mrt_subtype"], s["afi"]) == (16, 5, 0)


def test_raw_bgp_update_decodes_to_the_same_elements(shared_data: Path) -> None:
    lines = _stream(shared_data)
    assert "raw" in json.loads(lines[0])["data"]
    from_json = decode(lines[:1]).batch
    from_raw = decode(lines[:1], use_raw=True).batch
    assert from_raw.num_rows == 1
    assert from_raw.to_pylist() == from_json.to_pylist()


def _message_from_bgpkit(doc: dict[str, Any]) -> dict[str, Any]:
    """The RIS Live message carrying the attributes bgpkit decoded (the capture's ``meta``)."""
    meta = doc["meta"]
    attrs = {k: v for a in doc["attributes"] for k, v in a["value"].items()}
    reach = attrs["MpReachNlri"]
    next_hops = reach["next_hop"]["Ipv6LinkLocal"]
    return {
        "type": "ris_message",
        "data": {
            "timestamp": meta["timestamp"],
            "peer": meta["peer"],
            "peer_asn": str(meta["peerAsn"]),
            "id": meta["id"],
            "host": meta["host"],
            "type": "UPDATE",
            "path": attrs["AsPath"],
            "origin": attrs["Origin"].lower(),
            "med": attrs["MultiExitDiscriminator"],
            "community": [c["Custom"] for c in attrs["Communities"]],
            "announcements": [{"next_hop": ",".join(next_hops), "prefixes": reach["prefixes"]}],
        },
    }


def test_bgpkit_capture_elements_match(shared_data: Path) -> None:
    doc = json.loads((shared_data / "rislive" / "ris_live_raw_full.json").read_text())
    d = decode([json.dumps(_message_from_bgpkit(doc))])
    rows = d.batch.to_pylist()
    assert not d.problems and len(rows) == len(doc["elems"]) == 4
    for row, elem in zip(rows, doc["elems"], strict=True):
        assert row["kind"] == "A" and elem["type"] == "ANNOUNCE"
        assert f"{_ip(row['prefix'], row['afi'])}/{row['prefix_len']}" == elem["prefix"]
        assert _ip(row["peer_ip"], row["peer_afi"]) == elem["peer_ip"]
        assert row["peer_asn"] == elem["peer_asn"] and row["collector"] == "rrc10"
        assert _ip(row["nexthop"], row["nexthop_afi"]) == elem["next_hop"]
        assert row["as_path"] == elem["as_path"] and row["origin_asns"] == elem["origin_asns"]
        assert row["med"] == elem["med"] and row["origin"] == 0
        assert row["communities"] == [a * 65536 + v for a, v in (c["Custom"] for c in elem["communities"])]
        assert row["timestamp"].timestamp() == pytest.approx(elem["timestamp"])


def _update(**data: Any) -> str:
    base = {"timestamp": 1.5, "peer": "192.0.2.1", "peer_asn": "64496", "host": "rrc21.ripe.net"}
    return json.dumps({"type": "ris_message", "data": {**base, "type": "UPDATE", **data}})


def test_withdrawals_as_sets_masking_and_ipv6() -> None:
    msg = _update(
        path=[1, 2, [4, 3]],
        withdrawals=["10.1.2.3/16", "2605:de00:bb:0:0:0:0:0/48"],
        announcements=[{"next_hop": "2001:db8::1,fe80::1", "prefixes": ["2001:db8:1::/48"]}],
        aggregator="65000:10.0.0.1",
        large_community=[[1, 2, 3]],
    )
    rows = decode([msg]).batch.to_pylist()
    assert [r["kind"] for r in rows] == ["W", "W", "A"]
    assert rows[0]["prefix"][:4] == bytes([10, 1, 0, 0]) and rows[0]["prefix_len"] == 16
    assert rows[1]["afi"] == 6 and rows[1]["prefix_len"] == 48
    a = rows[2]
    assert a["collector"] == "rrc21" and _ip(a["nexthop"], 6) == "2001:db8::1"
    assert a["as_path"] == [1, 2, 4, 3] and a["as_path_segments"] == [2 * 256 + 2, 1 * 256 + 2]
    assert a["origin_asn"] is None and a["origin_asns"] == [3, 4]
    assert a["aggregator_asn"] == 65000 and a["aggregator_ip"] == bytes([10, 0, 0, 1])
    assert a["large_communities"] == [[1, 2, 3]]


ANN = [{"next_hop": "192.0.2.1", "prefixes": ["10.0.0.0/8"]}]


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"type": "ris_message", "data": {"type": "UPDATE"}}', "missing field"),
        (_update(withdrawals=["10.0.0.0/8"], peer="not-an-ip"), "not-an-ip"),
        (_update(announcements=[{"next_hop": "bogus", "prefixes": ["10.0.0.0/8"]}]), "bogus"),
        (_update(path=[1, "x"], announcements=ANN), "invalid literal"),
        (_update(origin="sideways", announcements=ANN), "unknown ORIGIN"),
        (_update(raw="FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00130400"), "expected UPDATE"),
        (json.dumps({"type": "ris_message", "data": {"type": "WAT", "timestamp": 1}}), "unknown ris_message"),
    ],
)
def test_bad_messages_are_problems_and_the_rest_survives(text: str, cause: str) -> None:
    good = _update(withdrawals=["192.0.2.0/24"])
    d = decode([good, text, good], source="stream", first_index=100, use_raw=True)
    assert d.batch.num_rows == 2
    assert len(d.problems) == 1
    p = d.problems[0]
    assert p.source == "stream" and p.record_index == 101 and cause in p.cause, p


def test_bad_prefixes_drop_only_their_elements() -> None:
    msg = _update(withdrawals=["10.0.0.0/8", "300.1.1.1/24", "10.0.0.0/33", "1.2.3/24", "zz::/9"])
    d = decode([msg], first_index=7)
    assert d.batch.num_rows == 1
    assert len(d.problems) == 4 and {p.record_index for p in d.problems} == {7}


def test_raw_base64_and_mp_reach() -> None:
    import base64

    nlri = bytes([48, 0x20, 0x01, 0x0D, 0xB8, 0, 1])
    mp = bytes([0, 2, 1, 16]) + ipaddress.IPv6Address("2001:db8::9").packed + b"\0" + nlri
    path = bytes([2, 2]) + (64496).to_bytes(4, "big") + (131279).to_bytes(4, "big")
    attrs = bytes([0x40, 1, 1, 2, 0x40, 2, len(path)]) + path + bytes([0x80, 14, len(mp)]) + mp
    unreach = bytes([0, 1, 1, 22, 175, 45, 176])
    attrs += bytes([0x80, 15, len(unreach)]) + unreach
    body = (0).to_bytes(2, "big") + len(attrs).to_bytes(2, "big") + attrs
    raw = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    parsed = decode_update(raw)
    assert parsed[1] == ["175.45.176.0/22"] and parsed[2] == [("2001:db8::9", ["2001:db8:1::/48"])]
    rows = decode([_update(raw=base64.b64encode(raw).decode())], use_raw=True).batch.to_pylist()
    assert [(r["kind"], r["prefix_len"], r["origin"]) for r in rows] == [("W", 22, None), ("A", 48, 2)]
    assert rows[1]["origin_asn"] == 131279


prefix4 = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)).map(
    lambda t: str(ipaddress.ip_network((t[0] >> (32 - t[1]) << (32 - t[1]) if t[1] else 0, t[1])))
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(prefix4, max_size=5), st.lists(prefix4, max_size=5)), max_size=20))
def test_element_count_and_prefix_round_trip(messages: list[tuple[list[str], list[str]]]) -> None:
    texts = [
        _update(withdrawals=w, announcements=[{"next_hop": "192.0.2.9", "prefixes": a}] if a else [])
        for w, a in messages
    ]
    batch = decode(texts).batch
    expected = [p for w, a in messages for p in [*w, *a]]
    got = [
        f"{ipaddress.ip_address(r['prefix'][:4])}/{r['prefix_len']}"
        for r in batch.select(["prefix", "prefix_len"]).to_pylist()
    ]
    assert got == expected
    assert isinstance(batch, pa.RecordBatch) and batch.schema == ELEMENT_SCHEMA
