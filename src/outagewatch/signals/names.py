"""The dictionaries behind the engine's rows: entity names and metric names, as they grow.

The compiled core writes rows as (entity type code, entity name index, metric id, value) and
keeps the names itself: entity names in the order it made the entities (countries, origin ASes
as decimal text, watched prefixes, ``all``), metric names as the fixed catalogue
:data:`FIXED_METRICS` followed by ``upstream.<asn>.routes`` and ``.share`` for each upstream id.
Both lists only grow, so one Arrow string array of each, extended with the names new since the
last bin, serves as the dictionary of every bin's rows.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa

from outagewatch.signals import _engine
from outagewatch.signals import metrics as M
from outagewatch.signals.growable import GrowableStrings

ENTITY_TYPES: Final = M.ENTITY_TYPES
"""Entity type codes of the core's rows: 0 country, 1 as, 2 prefix, 3 global."""

FIXED_METRICS: Final[tuple[str, ...]] = (
    *M.visibility_metrics(4),
    *M.visibility_metrics(6),
    M.FULL_FEED[4],
    M.FULL_FEED[6],
    *M.CHURN_METRICS,
    M.PEERS_REPORTING,
    M.UPSTREAM_COUNT,
)
"""Metric ids 0 .. 44 of the core, in the order of its enum (_engine/core.h)."""
assert len(FIXED_METRICS) == _engine.M_UP_BASE


class Names:
    """Entity and metric names of one core, as Arrow string arrays indexed like its rows."""

    def __init__(self, core: _engine.Core) -> None:
        self._core = core
        self.entities = GrowableStrings()
        self.metrics = GrowableStrings()
        self.entity_types = pa.array(ENTITY_TYPES, pa.string())

    def sync(self, entity_names: int, metric_names: int) -> None:
        """Take the names the core made since the last call (it holds ``entity_names`` and
        ``metric_names`` now)."""
        for kind, have, target in ((0, self.entities, entity_names), (1, self.metrics, metric_names)):
            if target > len(have):
                offsets, data = self._core.names(kind, len(have))
                have.append_raw(np.frombuffer(offsets, np.int32), data)
