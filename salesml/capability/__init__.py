"""salesml.capability: rep capability scores (technical, commercial, delivery), fair to
reps with few events, with intervals; trends; team regrouping."""

from salesml.capability.evidence import COMPONENTS, SCENARIOS
from salesml.capability.scores import CapabilityResult, capability_scores

__all__ = ["COMPONENTS", "SCENARIOS", "CapabilityResult", "capability_scores"]
