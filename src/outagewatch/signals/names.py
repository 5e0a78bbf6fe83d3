"""The dictionaries behind the engine's rows: entity names and metric names, as they grow.

The compiled core writes rows as (entity type code, entity name index, metric id, value). Entity
name indices count every entity the core ever made, in the order it made them (countries, origin
ASes, watched prefixes, the global entity); metric ids are the fixed catalogue of
:data:`FIXED_METRICS`, then two per upstream id (``upstream.<asn>.routes``, ``.share``). Both
lists only grow, so one Arrow string array of each serves as the dictionary of every bin's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.signals import metrics as M
from outagewatch.signals.growable import GrowableStrings

ENTITY_TYPES: Final = M.ENTITY_TYPES
"""Entity type codes of the core's rows: 0 country, 1 as, 2 prefix, 3 global."""
ET_COUNTRY, ET_AS, ET_PREFIX, ET_GLOBAL = 0, 1, 2, 3

FIXED_METRICS: Final[tuple[str, ...]] = (
    *M.visibility_metrics(4),
    *M.visibility_metrics(6),
    M.FULL_FEED[4],
    M.FULL_FEED[6],
    *M.CHURN_METRICS,
    M.PEERS_REPORTING,
    M.UPSTREAM_COUNT,
)
"""Metric ids 0 .. 44 of the core (its enum in _engine/core.h, checked by a test)."""


class Names:
    """Entity and metric names of one engine, by the core's indices."""

    def __init__(self) -> None:
        self.entities = GrowableStrings()
        self.metrics = GrowableStrings()
        self.metrics.append(pa.array(FIXED_METRICS, pa.string()))
        self.entity_types = pa.array(ENTITY_TYPES, pa.string())
        self._upstreams = 0

    def add_entities(
        self,
        types: npt.NDArray[np.int32],
        ids: npt.NDArray[np.int32],
        countries: Sequence[str],
        as_asn: npt.NDArray[np.uint32],
        watched: Sequence[str],
    ) -> None:
        """Append the names of entities the core made (types and ids in the order it made them;
        ``as_asn``: the ASN of each AS id)."""
        if not len(types):
            return
        parts, where = [], []
        for code in range(4):
            sel = np.flatnonzero(types == code)
            if not len(sel):
                continue
            idx = ids[sel]
            if code == ET_AS:
                text = pa.array(np.asarray(as_asn[idx], dtype=np.uint32)).cast(pa.string())
            elif code == ET_COUNTRY:
                text = pa.array([countries[i] for i in idx.tolist()], pa.string())
            elif code == ET_PREFIX:
                text = pa.array([watched[i] for i in idx.tolist()], pa.string())
            else:
                text = pa.array([M.GLOBAL_ENTITY] * len(idx), pa.string())
            parts.append(text)
            where.append(sel)
        order = np.argsort(np.concatenate(where), kind="stable")
        self.entities.append(pa.concat_arrays(parts).take(pa.array(order)))

    def add_upstreams(self, up_asn: npt.NDArray[np.uint32]) -> None:
        """Append ``upstream.<asn>.routes`` and ``.share`` for upstream ids not named yet
        (``up_asn``: the ASNs of the new ids, in id order)."""
        if not len(up_asn):
            return
        asns = pa.array(np.asarray(up_asn, dtype=np.uint32)).cast(pa.string())
        routes = pc.binary_join_element_wise("upstream.", asns, ".routes", "")
        share = pc.binary_join_element_wise("upstream.", asns, ".share", "")
        both = pa.concat_arrays([routes, share])
        n = len(asns)
        interleaved = np.empty(2 * n, dtype=np.int64)
        interleaved[0::2] = np.arange(n)
        interleaved[1::2] = np.arange(n) + n
        self.metrics.append(both.take(pa.array(interleaved)))
        self._upstreams += n

    @property
    def upstreams(self) -> int:
        return self._upstreams
