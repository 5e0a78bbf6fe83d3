"""AS → name/country and ISO code → country name."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from outagewatch.enrich.asnames import AsNames
from outagewatch.enrich.country_names import country_name, country_names
from outagewatch.enrich.delegated import parse_asnames_json, parse_delegated
from outagewatch.model.problem import MrtError
from outagewatch.sources.geo_files import as_names


@pytest.mark.shared
def test_asnames_json_star_kp_and_china_unicom(shared_data: Path) -> None:
    names = as_names([shared_data / "geo" / "asnames.json.gz"])
    info = names.lookup([131279, 4837, 4294967295, 399999])
    assert info.handle.tolist() == ["STAR-KP", "CHINA169-BACKBONE", None, None]
    assert info.country.tolist() == ["KP", "CN", None, None]
    assert info.name[0] == "STAR-KP Ryugyong-dong"
    assert names.get(131279) == ("STAR-KP Ryugyong-dong", "KP")
    assert len(names) == 77_586


@pytest.mark.shared
def test_delegated_asn_lines_and_later_source_wins(shared_data: Path, tmp_path: Path) -> None:
    geo = shared_data / "geo"
    apnic = geo / "delegated-apnic-extended-latest.from-otter-service-asn"
    only = as_names([apnic])
    assert only.lookup([131279, 4837]).country.tolist() == ["KP", "CN"]
    assert only.get(131279) == (None, "KP")
    moved = tmp_path / "moved.json.gz"
    moved.write_bytes(gzip.compress(json.dumps({"131279": "STAR-KP Ryugyong-dong, CN"}).encode()))
    layered = as_names([geo / "asnames.json.gz", apnic, moved])
    assert layered.get(131279) == ("STAR-KP Ryugyong-dong", "CN")
    assert layered.get(4837) == ("CHINA169-BACKBONE CNCGROUP China169 Backbone", "CN")
    # the delegated file overrides the country, never erases the name
    assert as_names([moved, apnic]).get(131279) == ("STAR-KP Ryugyong-dong", "KP")


def test_asn_ranges_from_delegated_blocks() -> None:
    d = parse_delegated(
        ["ripencc|NL|asn|1000|10|20000101|allocated", "ripencc|DE|asn|1005|1|20000101|assigned"]
    )
    names = AsNames.build([d.asns, parse_asnames_json('{"1003": "EXAMPLE-AS Example, US", "7": "odd"}')])
    info = names.lookup(np.array([999, 1000, 1003, 1005, 1009, 1010, 7]))
    assert info.country.tolist() == [None, "NL", "US", "DE", "NL", None, None]
    assert info.handle.tolist() == [None, None, "EXAMPLE-AS", None, None, None, "odd"]


def test_bad_as_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MrtError, match=r"bad\.json"):
        as_names([bad])
    assert len(AsNames.build([])) == 0
    assert AsNames.build([]).get(1) == (None, None)


def test_country_names() -> None:
    assert country_name("KP") == "North Korea"
    assert country_name("kr") == "South Korea"
    assert country_name("RU") == "Russia"
    assert country_name("IR") == "Iran"
    assert country_name("CD") == "DR Congo"
    assert country_name("EG") == "Egypt"
    assert country_name("ZZ") == "Unknown"
    assert country_name("Q1") == "Q1"
    assert country_names(["KP", "CN", "KP"]).tolist() == ["North Korea", "China", "North Korea"]
