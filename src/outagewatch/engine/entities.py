"""Entity rows for the store: countries, origin ASes, watched prefixes, and their prefixes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from outagewatch.signals.engine import SignalEngine
from outagewatch.signals.state import prefix_texts, unit_weight

AsInfo = Callable[[Sequence[int]], dict[int, tuple[str | None, str | None]]]


def entity_tables(engine: SignalEngine, as_info: AsInfo | None) -> tuple[pa.Table, pa.Table]:
    """(entities, entity_prefixes) for everything the engine has seen."""
    st, ci = engine.state, engine.countries
    asns = st.known_as.tolist()
    info = as_info(asns) if as_info is not None else {}
    types = ["country"] * len(ci.codes) + ["as"] * len(asns) + ["prefix"] * len(engine.watch_text)
    ents = list(ci.codes) + [str(a) for a in asns] + list(engine.watch_text)
    c_names: list[str | None] = [_country_name(c) for c in ci.codes]
    names: list[str | None] = c_names + [info.get(a, (None, None))[0] for a in asns]
    names += [None] * len(engine.watch_text)
    country: list[str | None] = [*ci.codes, *(info.get(a, (None, None))[1] for a in asns)]
    country += [None] * len(engine.watch_text)
    entities = pa.table({"entity_type": types, "entity": ents, "name": names, "country": country})
    return entities, _entity_prefixes(engine)


def _entity_prefixes(engine: SignalEngine) -> pa.Table:
    st, ci = engine.state, engine.countries
    pfx = st.prefixes
    text = np.array(prefix_texts(pfx.afi, pfx.addr, pfx.plen), dtype=object)
    weight = unit_weight(pfx.afi, pfx.plen)
    rows_t, rows_e, rows_p, rows_w = [], [], [], []
    if len(ci.prefix):
        codes = np.array(ci.codes, dtype=object)
        rows_t.append(np.full(len(ci.prefix), "country", dtype=object))
        rows_e.append(codes[ci.country])
        rows_p.append(text[ci.prefix])
        rows_w.append(ci.weight)
    _, prefix, path = st.route_table()
    if len(prefix):
        origin = st.paths.origin[path].astype(np.int64)
        key = np.unique(prefix.astype(np.int64) * (1 << 32) + origin)
        p, o = key >> 32, key & 0xFFFFFFFF
        keep = o != 0
        p, o = p[keep], o[keep]
        rows_t.append(np.full(len(p), "as", dtype=object))
        rows_e.append(np.array([str(x) for x in o.tolist()], dtype=object))
        rows_p.append(text[p])
        rows_w.append(weight[p])
    if not rows_t:
        return pa.table(
            {
                "entity_type": pa.array([], pa.string()),
                "entity": pa.array([], pa.string()),
                "prefix": pa.array([], pa.string()),
                "slash24": pa.array([], pa.float64()),
            }
        )
    return pa.table(
        {
            "entity_type": pa.array(np.concatenate(rows_t).tolist(), pa.string()),
            "entity": pa.array(np.concatenate(rows_e).tolist(), pa.string()),
            "prefix": pa.array(np.concatenate(rows_p).tolist(), pa.string()),
            "slash24": pa.array(np.concatenate(rows_w), pa.float64()),
        }
    )


def _country_name(code: str) -> str | None:
    try:
        from outagewatch.enrich.country_names import country_name
    except ImportError:
        return None
    name = country_name(code)
    return None if name == code else name
