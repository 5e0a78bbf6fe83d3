"""The MRT writer produces genuine MRT: Debian bgpdump and the project's reader both read it back."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch import read_mrt
from outagewatch.simulate import mrtwriter as w

BGPDUMP = shutil.which("bgpdump") or "/usr/bin/bgpdump"
needs_bgpdump = pytest.mark.skipif(not Path(BGPDUMP).exists(), reason="Debian bgpdump not installed")
A, N = ipaddress.ip_address, ipaddress.ip_network


def bgpdump_lines(path: Path) -> list[str]:
    """``bgpdump -m`` lines; fails the test on anything bgpdump logs (errors, warnings)."""
    run = subprocess.run([BGPDUMP, "-v", "-m", str(path)], capture_output=True, text=True, check=True)
    noise = [ln for ln in run.stderr.splitlines() if "[info]" not in ln]
    assert not noise, f"bgpdump complained about {path}: {noise[:3]}"
    return run.stdout.splitlines()


V4 = ipaddress.IPv4Address
PEERS: list[tuple[ipaddress.IPv4Address, w.IPAddress, int]] = [
    (V4("10.0.0.1"), A("192.0.2.1"), 64500),
    (V4("10.0.0.2"), A("2001:db8::1"), 4200000000),
]


@needs_bgpdump
def test_rib_records_read_by_bgpdump(tmp_path: Path) -> None:
    a4 = w.path_attributes([64500, 3356, 4837, 131279], A("192.0.2.1"), communities=[(3356, 100)])
    a6 = w.path_attributes([4200000000, 6939, 15169], A("2001:db8::1"), rib=True)
    data = b"".join(
        [
            w.peer_index_table(1000, V4("193.0.4.28"), "view", PEERS),
            w.rib_record(1000, 0, N("175.45.176.0/24"), [w.rib_entry(0, 900, a4)]),
            w.rib_record(1000, 1, N("2001:4860::/32"), [w.rib_entry(1, 900, a6)]),
        ]
    )
    (tmp_path / "rib.mrt").write_bytes(data)
    assert bgpdump_lines(tmp_path / "rib.mrt") == [
        "TABLE_DUMP2|1000|B|192.0.2.1|64500|175.45.176.0/24|64500 3356 4837 131279|IGP|192.0.2.1|0|0|"
        "3356:100|NAG||",
        "TABLE_DUMP2|1000|B|2001:db8::1|4200000000|2001:4860::/32|4200000000 6939 15169|IGP|2001:db8::1|0|0|"
        "|NAG||",
    ]


@needs_bgpdump
def test_update_and_state_records_read_by_bgpdump_and_reader(tmp_path: Path) -> None:
    h4 = w.bgp4mp_peer_header(64500, 12654, A("192.0.2.1"), A("192.0.2.254"))
    h6 = w.bgp4mp_peer_header(4200000000, 12654, A("2001:db8::1"), A("2001:db8::fe"))
    a4 = w.path_attributes([64500, 4837, 131279], A("192.0.2.1"))
    a6 = w.path_attributes([4200000000, 15169], A("2001:db8::1"), mp_nlri=[N("2001:4860::/32")])
    recs = [
        w.bgp4mp_message(1100, h4, w.bgp_update(b"", a4, w.nlri(N("175.45.177.0/24")))),
        w.bgp4mp_message(1101, h4, w.bgp_update(w.nlri(N("175.45.177.0/24")))),
        w.bgp4mp_message(1102, h6, w.bgp_update(b"", a6)),
        w.bgp4mp_message(1103, h6, w.bgp_update(attributes=w.mp_unreach_attr([N("2001:4860::/32")]))),
        w.bgp4mp_state_change(1104, h4, w.STATE_ESTABLISHED, w.STATE_IDLE),
    ]
    path = tmp_path / "upd.mrt"
    path.write_bytes(b"".join(recs))
    assert bgpdump_lines(path) == [
        "BGP4MP|1100|A|192.0.2.1|64500|175.45.177.0/24|64500 4837 131279|IGP|192.0.2.1|0|0||NAG||",
        "BGP4MP|1101|W|192.0.2.1|64500|175.45.177.0/24",
        "BGP4MP|1102|A|2001:db8::1|4200000000|2001:4860::/32|4200000000 15169|IGP|2001:db8::1|0|0||NAG||",
        "BGP4MP|1103|W|2001:db8::1|4200000000|2001:4860::/32",
        "BGP4MP|1104|STATE|192.0.2.1|64500|6|1",
    ]
    reader = read_mrt(str(path), collector="t")
    table = pa.Table.from_batches(list(reader))
    assert not reader.problems
    assert table.column("kind").to_pylist() == ["A", "W", "A", "W", "S"]
    assert table.column("as_path").to_pylist()[0] == [64500, 4837, 131279]


def test_long_as_path_uses_extended_length_and_segments() -> None:
    attrs = w.as_path_attr(list(range(1, 301)))
    assert attrs[0] & 0x10  # extended length
    assert attrs[4] == 2 and attrs[5] == 255  # first AS_SEQUENCE holds 255 ASNs
    with pytest.raises(ValueError, match="exceeds 4096"):
        w.bgp_update(b"", w.as_path_attr(list(range(1, 1100))), b"")


_v4 = st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)).map(
    lambda t: ipaddress.IPv4Network((t[0] >> (32 - t[1]) << (32 - t[1]), t[1]))
)
_v6 = st.tuples(st.integers(0x2000 << 112, (0x3FFF << 112) + 2**112 - 1), st.integers(16, 128)).map(
    lambda t: ipaddress.IPv6Network((t[0] >> (128 - t[1]) << (128 - t[1]), t[1]))
)
_path = st.lists(st.integers(1, 2**32 - 1), min_size=1, max_size=40)


@needs_bgpdump
@settings(max_examples=15, deadline=None)
@given(routes=st.lists(st.tuples(st.one_of(_v4, _v6), _path, st.booleans()), min_size=1, max_size=20))
def test_any_route_round_trips_through_bgpdump(
    routes: list[tuple[w.Network, list[int], bool]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    h = {
        4: w.bgp4mp_peer_header(65000, 12654, A("192.0.2.1"), A("192.0.2.2")),
        6: w.bgp4mp_peer_header(65000, 12654, A("2001:db8::1"), A("2001:db8::2")),
    }
    recs, want = [], []
    for i, (net, path, withdraw) in enumerate(routes):
        nh = A("192.0.2.1") if net.version == 4 else A("2001:db8::1")
        if withdraw:
            msg = (
                w.bgp_update(w.nlri(net))
                if net.version == 4
                else w.bgp_update(attributes=w.mp_unreach_attr([net]))
            )
            want.append(f"BGP4MP|{i}|W|{nh}|65000|{net}")
        else:
            attrs = w.path_attributes(path, nh, mp_nlri=[net] if net.version == 6 else None)
            msg = w.bgp_update(b"", attrs, w.nlri(net) if net.version == 4 else b"")
            want.append(f"BGP4MP|{i}|A|{nh}|65000|{net}|{' '.join(map(str, path))}|IGP|{nh}|0|0||NAG||")
        recs.append(w.bgp4mp_message(i, h[net.version], msg))
    out = tmp_path_factory.mktemp("hyp") / "u.mrt"
    out.write_bytes(b"".join(recs))
    # bgpdump prints addresses with glibc inet_ntop ("…:2000::/99" where Python writes "…:2000:0/99")
    got = [
        "|".join(c if i != 5 else str(ipaddress.ip_network(c)) for i, c in enumerate(ln.split("|")))
        for ln in bgpdump_lines(out)
    ]
    assert got == want
