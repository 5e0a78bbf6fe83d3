"""ISO 3166-1 alpha-2 code → short English country name, as outage dashboards print them.

Names come from ``pycountry`` (a maintained ISO 3166 package): its ``common_name`` when it has
one ("KP" → "North Korea"), otherwise its ``name``, with a few overrides for the short forms
IODA and Cloudflare Radar use ("RU" → "Russia", "CD" → "DR Congo"), plus the RIR pseudo-codes
("EU", "AP") and "ZZ" (unknown / unallocated). Unknown codes come back as the code itself.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

SHORT_NAMES = {
    "RU": "Russia",
    "CD": "DR Congo",
    "CG": "Republic of the Congo",
    "FM": "Micronesia",
    "PS": "Palestine",
    "BN": "Brunei",
    "TR": "Turkey",
    "VA": "Vatican City",
    "MO": "Macau",
    "BQ": "Caribbean Netherlands",
    "SX": "Sint Maarten",
    "MF": "Saint Martin",
    "SH": "Saint Helena",
    "FK": "Falkland Islands",
    "CI": "Ivory Coast",
    "CV": "Cape Verde",
    "MM": "Myanmar (Burma)",
    "XK": "Kosovo",
    "EU": "European Union",
    "AP": "Asia/Pacific Region",
    "ZZ": "Unknown",
}


@functools.cache
def _table() -> dict[str, str]:
    import pycountry

    out: dict[str, str] = {}
    for c in pycountry.countries:
        out[c.alpha_2] = getattr(c, "common_name", None) or c.name
    out.update(SHORT_NAMES)
    return out


def country_name(code: str) -> str:
    """Short English name for ``code`` (case-insensitive); the code itself when unknown."""
    return _table().get(code.upper(), code)


def country_names(codes: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Vectorised :func:`country_name` (one dict lookup per distinct code)."""
    arr = np.asarray(codes, dtype=str)
    uniq, inv = np.unique(arr, return_inverse=True)
    names = np.array([country_name(str(c)) for c in uniq.tolist()], dtype=str)
    return names[inv.reshape(arr.shape)] if len(uniq) else np.asarray(arr, dtype=str)
