"""outagewatch.enrich: prefix → country, AS → name/country, country names (pure; see docs/enrich.md).

File loading and the cached iptocc default live in :mod:`outagewatch.sources.geo_files`.
"""

from outagewatch.enrich.asnames import AsInfo, AsNames
from outagewatch.enrich.countries import UNKNOWN, CountryMap, PrefixCountries, Ranges, make_ranges
from outagewatch.enrich.country_names import country_name
from outagewatch.enrich.prefixes import parse_prefixes, prefix_text

__all__ = [
    "UNKNOWN",
    "AsInfo",
    "AsNames",
    "CountryMap",
    "PrefixCountries",
    "Ranges",
    "country_name",
    "make_ranges",
    "parse_prefixes",
    "prefix_text",
]
