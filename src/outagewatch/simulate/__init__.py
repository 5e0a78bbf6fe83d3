"""Scenario simulator: declarative scenarios → genuine MRT (TABLE_DUMP_V2 RIB + BGP4MP updates).

``simulate_scenario("kp-2014", out_dir, seed=0)`` writes the RIS file layout and returns a
:class:`SimulationResult` (files, counts, ground truth); ``ground_truth(scenario)`` lists the
injected events; ``load_scenario`` reads a built-in scenario by name or a TOML file.
"""

from outagewatch.simulate.run import CollectorOutput, SimulationResult, simulate_scenario
from outagewatch.simulate.scenario import (
    Churn,
    Collector,
    Event,
    Peer,
    PrefixSpec,
    Scenario,
    Splice,
    country_map,
)
from outagewatch.simulate.scenario_toml import builtin_names, dumps, load_scenario, loads
from outagewatch.simulate.truth import TruthEvent, ground_truth

__all__ = [
    "Churn",
    "Collector",
    "CollectorOutput",
    "Event",
    "Peer",
    "PrefixSpec",
    "Scenario",
    "SimulationResult",
    "Splice",
    "TruthEvent",
    "builtin_names",
    "country_map",
    "dumps",
    "ground_truth",
    "load_scenario",
    "loads",
    "simulate_scenario",
]
