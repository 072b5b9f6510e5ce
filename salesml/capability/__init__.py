"""salesml.capability: rep capability scores (technical, commercial, delivery), fair to
reps with few events, with intervals; trends; team regrouping."""

from salesml.capability.evidence import COMPONENTS, SCENARIOS
from salesml.capability.regroup import RegroupResult, load_groups, regroup
from salesml.capability.scores import CapabilityResult, capability_scores
from salesml.capability.trend import CapabilityTrendResult, capability_trend

__all__ = [
    "COMPONENTS",
    "SCENARIOS",
    "CapabilityResult",
    "CapabilityTrendResult",
    "RegroupResult",
    "capability_scores",
    "capability_trend",
    "load_groups",
    "regroup",
]
