"""Prefix → country: splitting, layering, real RIR data, the iptocc default."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.enrich.countries import (
    CountryMap,
    PrefixCountries,
    make_ranges,
    probe_grid,
    probe_ranges,
)
from outagewatch.enrich.delegated import parse_delegated, parse_range_tsv
from outagewatch.enrich.prefixes import parse_prefixes, prefix_text, range_keys
from outagewatch.model.problem import MrtError
from outagewatch.sources.geo_files import country_map, load_country_file

IP = {"10.0.0.0": 0x0A000000}


def _map(cmap: CountryMap, *texts: str) -> list[dict[str, float]]:
    afi, addr, plen = parse_prefixes(texts)
    res = cmap.map_prefixes(afi, addr, plen)
    out: list[dict[str, float]] = [{} for _ in texts]
    for i, cc, w in zip(res.input_index.tolist(), res.country.tolist(), res.slash24.tolist(), strict=True):
        out[i][cc] = out[i].get(cc, 0.0) + w
    return out


def _v4(*rows: tuple[str, str, str]) -> CountryMap:
    lines = [f"{a}\t{b}\t{cc}" for a, b, cc in rows]
    return parse_range_tsv(lines, [], source="test")


def test_split_across_countries_and_unallocated() -> None:
    cmap = _v4(("10.0.0.0", "10.0.1.255", "US"), ("10.0.2.0", "10.0.2.255", "CA"))
    got = _map(cmap, "10.0.0.0/22", "10.0.0.0/25", "10.0.2.7/32", "240.0.0.0/8", "0.0.0.0/0")
    assert got[0] == {"US": 2.0, "CA": 1.0, "ZZ": 1.0}
    assert got[1] == {"US": 0.5}
    assert got[2] == {"CA": 1 / 256}
    assert got[3] == {"ZZ": 65536.0}
    assert got[4] == {"ZZ": 2.0**24 - 3, "US": 2.0, "CA": 1.0}


def test_ipv6_weights_are_slash48_equivalents() -> None:
    cmap = parse_range_tsv([], ["2001:db8::/33\tDE", "2001:db8:8000::/33\tFR"], source="t")
    got = _map(
        cmap, "2001:db8::/32", "2001:db8::/48", "2001:db8:8000::/64", "2001:db8::1/128", "2001:db9::/32"
    )
    assert got[0] == {"DE": 32768.0, "FR": 32768.0}
    assert got[1] == {"DE": 1.0}
    assert got[2] == {"FR": 1 / 65536}
    assert got[3] == {"DE": 2.0**-80}
    assert got[4] == {"ZZ": 65536.0}


def test_mixed_families_arrow_input_and_state_rows() -> None:
    cmap = _v4(("10.0.0.0", "10.0.255.255", "NL"))
    afi, addr, plen = parse_prefixes(["10.0.0.0/16", "2001:db8::/32"])
    afi = np.append(afi, 0)  # a state-change row has no prefix
    addr = np.vstack([addr, np.zeros((1, 16), np.uint8)])
    plen = np.append(plen, 0).astype(np.uint8)
    arrow = pa.array([row.tobytes() for row in addr], type=pa.binary(16))
    res = cmap.map_prefixes(afi, arrow, plen)
    assert isinstance(res, PrefixCountries)
    idx, cc, w = res  # unpacks like the signals' PrefixMapper protocol
    assert idx.tolist() == [0, 1]
    assert cc.tolist() == ["NL", "ZZ"]
    assert w.tolist() == [256.0, 65536.0]


def test_prefix_text_roundtrip_and_keys() -> None:
    texts = ["175.45.176.0/22", "0.0.0.0/0", "2001:db8::/32", "::/0", "2a00:1450:4001:81b::200e/128"]
    afi, addr, plen = parse_prefixes(texts)
    assert prefix_text(afi, addr, plen) == texts
    first, last = range_keys(afi, addr, plen)
    assert (int(first[0]), int(last[0])) == (0xAF2DB000, 0xAF2DB3FF)
    assert (int(first[1]), int(last[1])) == (0, 2**32 - 1)
    assert (int(first[3]), int(last[3])) == (0, 2**64 - 1)
    assert first[4] == last[4] == 0x2A00_1450_4001_081B
    with pytest.raises(ValueError, match="not-a-prefix"):
        parse_prefixes(["not-a-prefix"])


def test_overlapping_rows_more_specific_wins() -> None:
    r = make_ranges([0, 100, 150, 300, 300], [199, 120, 160, 310, 400], ["AA", "bb", "CC", "DD", "EE"])
    assert list(zip(r.start.tolist(), r.end.tolist(), r.country.tolist(), strict=True)) == [
        (0, 99, "AA"),
        (100, 120, "BB"),
        (121, 149, "AA"),
        (150, 160, "CC"),
        (161, 199, "AA"),
        (300, 400, "EE"),
    ]


def test_layering_newest_wins_but_zz_never_erases() -> None:
    old = _v4(("10.0.0.0", "10.0.3.255", "US"))
    new = _v4(("10.0.1.0", "10.0.1.255", "MX"))
    assert _map(CountryMap.layered([old, new]), "10.0.0.0/22")[0] == {"US": 3.0, "MX": 1.0}
    assert _map(CountryMap.layered([new, old]), "10.0.0.0/22")[0] == {"US": 4.0}


# -- law ------------------------------------------------------------------------------------

codes = st.sampled_from(["AA", "BB", "CC"])
rows = st.lists(st.tuples(st.integers(0, 65535), st.integers(0, 4000), codes), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    table=rows,
    prefixes=st.lists(st.tuples(st.integers(0, 65535), st.integers(16, 32)), min_size=1, max_size=20),
)
def test_split_adds_up_and_matches_brute_force(
    table: list[tuple[int, int, str]], prefixes: list[tuple[int, int]]
) -> None:
    """Within 10.0.0.0/16: per prefix, the split sums to its size and equals a per-address count."""
    base = IP["10.0.0.0"]
    cmap = CountryMap(
        make_ranges(
            [base + s for s, _, _ in table], [base + s + n for s, n, _ in table], [c for _, _, c in table]
        )
    )
    texts = [f"10.0.{off >> 8}.{off & 255}/{plen}" for off, plen in prefixes]
    got = _map(cmap, *texts)
    per_addr = cmap.lookup(4, np.arange(base, base + 65536, dtype=np.uint64))
    for text, (off, plen), split in zip(texts, prefixes, got, strict=True):
        assert sum(split.values()) == pytest.approx(2.0 ** (24 - plen)), text
        lo = off & ~((1 << (32 - plen)) - 1)
        ccs, counts = np.unique(per_addr[lo : lo + (1 << (32 - plen))], return_counts=True)
        assert split == {str(c): n / 256 for c, n in zip(ccs, counts, strict=True)}, text


@settings(max_examples=60, deadline=None)
@given(
    table=st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**62), codes), max_size=10),
    prefix=st.tuples(st.integers(0, 2**128 - 1), st.integers(0, 128)),
)
def test_ipv6_split_adds_up(table: list[tuple[int, int, str]], prefix: tuple[int, int]) -> None:
    cmap = CountryMap(
        None,
        make_ranges(
            [s for s, _, _ in table], [min(s + n, 2**64 - 1) for s, n, _ in table], [c for _, _, c in table]
        ),
    )
    addr, plen = prefix
    mat = np.frombuffer(addr.to_bytes(16, "big"), np.uint8).reshape(1, 16)
    res = cmap.map_prefixes(np.array([6], np.uint8), mat, np.array([plen], np.uint8))
    assert float(res.slash24.sum()) == pytest.approx(2.0 ** (48 - plen), rel=1e-9)
    assert (res.slash24 > 0).all()


# -- real data ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def apnic(shared_data: Path) -> CountryMap:
    return load_country_file(shared_data / "geo" / "delegated-apnic-extended-latest.from-otter-service-asn")


@pytest.mark.shared
def test_apnic_delegated_north_korea(apnic: CountryMap) -> None:
    got = _map(apnic, "175.45.176.0/22", "175.45.176.0/24", "175.45.178.0/23", "1.0.0.0/23", "240.0.0.0/4")
    assert got[0] == {"KP": 4.0}
    assert got[1] == {"KP": 1.0}
    assert got[2] == {"KP": 2.0}
    assert got[3] == {"AU": 1.0, "CN": 1.0}  # a real prefix spanning two countries is split
    assert got[4] == {"ZZ": 2.0**20}


@pytest.mark.shared
def test_apnic_ipv6(apnic: CountryMap, shared_data: Path) -> None:
    text = (shared_data / "geo" / "delegated-apnic-extended-latest.from-otter-service-asn").read_text()
    line = next(x for x in text.splitlines() if "|JP|ipv6|" in x and "|allocated|" in x)
    start, plen = line.split("|")[3:5]
    got = _map(apnic, f"{start}/{plen}", f"{start}/{int(plen) - 1}")
    assert got[0] == {"JP": 2.0 ** (48 - int(plen))}
    assert got[1]["JP"] >= 2.0 ** (48 - int(plen))
    assert sum(got[1].values()) == 2.0 ** (49 - int(plen))


@pytest.fixture(scope="module")
def ip_to_country_v4(shared_data: Path) -> CountryMap:
    return load_country_file(shared_data / "geo" / "ip_to_country_1.0.2_ipv4_ranges.tsv")


@pytest.mark.shared
def test_ip_to_country_tables(ip_to_country_v4: CountryMap, shared_data: Path) -> None:
    v6 = load_country_file(shared_data / "geo" / "ip_to_country_1.0.2_ipv6_ranges.tsv")
    assert _map(ip_to_country_v4, "175.45.176.0/22", "1.0.0.0/23") == [{"KP": 4.0}, {"AU": 1.0, "CN": 1.0}]
    assert _map(v6, "2001:1200::/32") == [{"MX": 65536.0}]


@pytest.mark.shared
def test_newest_user_source_wins(ip_to_country_v4: CountryMap, tmp_path: Path) -> None:
    mine = tmp_path / "mine-delegated.gz"  # a user's newer delegated file (gzip): one /24 moved
    mine.write_bytes(
        gzip.compress(
            b"2|test|20260101|1|19700101|20260101|+0000\ntest|CN|ipv4|175.45.179.0|256|20260101|assigned\n"
        )
    )
    newer = country_map([mine], default=False)
    assert _map(CountryMap.layered([ip_to_country_v4, newer]), "175.45.176.0/22") == [{"KP": 3.0, "CN": 1.0}]
    assert _map(CountryMap.layered([newer, ip_to_country_v4]), "175.45.176.0/22") == [{"KP": 4.0}]


def test_bad_delegated_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken-delegated"
    bad.write_text(
        "apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated\napnic|KP|ipv4|175.45.999.0|256|2009|assigned\n"
    )
    with pytest.raises(MrtError, match=r"broken-delegated.*line 2"):
        load_country_file(bad)
    with pytest.raises(MrtError, match="no such file"):
        load_country_file(tmp_path / "missing")


def test_delegated_skips_summary_available_and_reserved() -> None:
    d = parse_delegated(
        [
            "2|apnic|20260101|3|19830613|20260101|+1000",
            "apnic|*|ipv4|*|3|summary",
            "apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated|A9183010",
            "apnic||ipv4|175.45.180.0|1024||available|",
            "apnic|ZZ|ipv4|175.45.184.0|1024||reserved|",
            "apnic|KP|asn|131279|1|20091221|allocated|A9183010",
        ]
    )
    assert _map(d.countries, "175.45.176.0/21") == [{"KP": 4.0, "ZZ": 4.0}]
    assert d.asns.first.tolist() == [131279]
    assert d.asns.country == ["KP"]


# -- the default source (iptocc) --------------------------------------------------------------


def test_iptocc_probe_north_korea_and_ipv6() -> None:
    """The default builder's own code path, on a small part of the grid."""
    iptocc = pytest.importorskip("iptocc")
    grid4 = probe_grid(4)
    grid4 = grid4[(grid4 >> np.uint64(24)) == 175]
    grid6 = probe_grid(6)
    grid6 = grid6[(grid6 >> np.uint64(48)) == 0x2400]
    cmap = CountryMap(
        probe_ranges(iptocc.country_code, 4, grid4), probe_ranges(iptocc.country_code, 6, grid6)
    )
    got = _map(cmap, "175.45.176.0/22", "175.45.176.0/24", "175.45.178.0/23", "10.0.0.0/8")
    assert got[0] == {"KP": 4.0}
    assert got[1] == {"KP": 1.0}
    assert got[3] == {"ZZ": 65536.0}
    # every probed IPv6 /32 agrees with a direct lookup of its first address
    sample = grid6[::997]
    keys = sample.tolist()
    direct = iptocc.country_code([f"{k >> 48:x}:{(k >> 32) & 0xFFFF:x}::" for k in keys])
    assert cmap.lookup(6, sample).tolist() == [c or "ZZ" for c in direct]
    assert len(probe_grid(4)) == 221 * 65536


@pytest.mark.slow
def test_default_country_map_builds_caches_and_reloads(tmp_path: Path) -> None:
    pytest.importorskip("iptocc")
    from outagewatch.sources import geo_files

    built = geo_files.default_country_map(tmp_path)
    assert list(tmp_path.glob("country-iptocc-*.npz"))
    geo_files._MEMO.clear()
    loaded = geo_files.default_country_map(tmp_path)
    for fam in (4, 6):
        for a, b in zip(built.ranges(fam), loaded.ranges(fam), strict=True):
            assert np.array_equal(a, b)
    assert _map(loaded, "175.45.176.0/22", "8.8.8.0/24") == [{"KP": 4.0}, {"US": 1.0}]
    user = _v4(("175.45.176.0", "175.45.176.255", "CN"))
    assert _map(CountryMap.layered([loaded, user]), "175.45.176.0/22") == [{"KP": 3.0, "CN": 1.0}]


def test_mmdb_source_and_precedence(tmp_path: Path) -> None:
    writer_mod = pytest.importorskip("mmdb_writer")
    netaddr = pytest.importorskip("netaddr")
    w = writer_mod.MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country")
    w.insert_network(netaddr.IPSet(["175.45.176.0/22"]), {"country": {"iso_code": "KP"}})
    w.insert_network(netaddr.IPSet(["175.45.180.0/24"]), {"registered_country": {"iso_code": "CN"}})
    w.insert_network(netaddr.IPSet(["10.1.0.0/16"]), {"country_code": "NL"})
    w.insert_network(netaddr.IPSet(["10.2.0.0/16"]), {"city": "nowhere"})
    w.insert_network(netaddr.IPSet(["2001:db8::/33"]), {"country": {"iso_code": "DE"}})
    db = tmp_path / "geo.mmdb"
    w.to_db_file(str(db))
    cmap = load_country_file(db)
    got = _map(cmap, "175.45.176.0/21", "10.0.0.0/14", "2001:db8::/32")
    assert got[0] == {"KP": 4.0, "CN": 1.0, "ZZ": 3.0}
    assert got[1] == {"NL": 256.0, "ZZ": 768.0}
    assert got[2] == {"DE": 32768.0, "ZZ": 32768.0}
    older = _v4(("175.45.176.0", "175.45.183.255", "US"))
    assert _map(CountryMap.layered([older, cmap]), "175.45.176.0/21") == [{"KP": 4.0, "CN": 1.0, "US": 3.0}]
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"\0" * 64 + b"\xab\xcd\xefMaxMind.com" + b"\0" * 16)
    with pytest.raises(MrtError, match=r"junk\.mmdb"):
        load_country_file(junk)


@pytest.mark.shared
def test_real_reader_batch_sliced_arrow_columns(apnic: CountryMap, shared_data: Path) -> None:
    """Arrow columns straight from the MRT reader (sliced: non-zero offset) map like their text."""
    from outagewatch import read_mrt

    batch = next(iter(read_mrt(shared_data / "mrt" / "ris-2022-week" / "updates.20220131.0625.gz")))
    part = batch.slice(7, 5000)
    afi = part.column("afi").to_numpy()
    plen = part.column("prefix_len").to_numpy()
    res = apnic.map_prefixes(afi, part.column("prefix"), plen)
    has = afi > 0
    texts = prefix_text(afi[has], part.column("prefix").filter(pa.array(has)), plen[has])
    again = apnic.map_prefixes(*parse_prefixes(texts))
    assert res.country.tolist() == again.country.tolist()
    assert res.slash24.tolist() == again.slash24.tolist()
    sums = np.bincount(res.input_index, weights=res.slash24, minlength=len(afi))
    size = np.where(afi == 4, 2.0 ** (24 - plen.astype(float)), 2.0 ** (48 - plen.astype(float)))
    assert np.allclose(sums[has], size[has])
    assert set(res.country.tolist()) >= {"ZZ"}  # RIPE/ARIN space is unknown to an APNIC-only map
