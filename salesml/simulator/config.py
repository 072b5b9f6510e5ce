"""Sizes and dates of a simulation, and the named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["PRESETS", "SimulationConfig", "resolve_config"]


@dataclass(frozen=True)
class SimulationConfig:
    """Sizes and dates of a simulation (see :data:`PRESETS`)."""

    n_reps: int = 20
    n_customers: int = 2_000
    n_deals: int = 3_000
    months: int = 18
    start: str = "2025-05-01"
    activities_per_deal: float = 13.0
    go_live_month: int | None = None  # months after start; default two thirds in
    chunk_customers: int = 100_000
    # opt-in planted behaviour for impact measurement (salesml.simulator.rollout)
    staggered_go_live: bool = False
    kpi_seasonality: bool = False
    # opt-in planted effect of the scan rollout on the loss rate (salesml.simulator.scan_effect)
    scan_loss_effect: float | None = None
    # opt-in document references of approvals (salesml.simulator.approval_docs)
    approval_documents: bool = False
    # opt-in flat touch rate with an exact planted change (salesml.simulator.touches)
    flat_touches: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready).

        The opt-in switches are left out while off, so the configuration of every
        dataset generated without them reads as before (shipped expected CAC included).
        """
        out = asdict(self)
        for name in _OPT_IN:
            if out[name] is False or out[name] is None:
                del out[name]
        return out


_OPT_IN = (
    "staggered_go_live",
    "kpi_seasonality",
    "scan_loss_effect",
    "approval_documents",
    "flat_touches",
)


PRESETS: dict[str, SimulationConfig] = {
    "tiny": SimulationConfig(n_reps=8, n_customers=300, n_deals=450, months=12),
    "demo": SimulationConfig(),
    "S": SimulationConfig(
        n_reps=60, n_customers=10_000, n_deals=15_000, months=24, start="2024-11-01"
    ),
    "M": SimulationConfig(
        n_reps=500,
        n_customers=66_000,
        n_deals=100_000,
        months=24,
        start="2024-11-01",
        activities_per_deal=21.0,
    ),
    "L": SimulationConfig(
        n_reps=4_000,
        n_customers=660_000,
        n_deals=1_000_000,
        months=24,
        start="2024-11-01",
        activities_per_deal=21.0,
        chunk_customers=40_000,
    ),
}


def resolve_config(preset: str, overrides: dict[str, Any]) -> SimulationConfig:
    """The preset's configuration with ``overrides`` applied (names checked).

    Raises
    ------
    ValueError
        For an unknown preset.
    TypeError
        For an override that is not a field of :class:`SimulationConfig`.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    allowed = {f.name for f in fields(SimulationConfig)}
    bad = sorted(set(overrides) - allowed)
    if bad:
        raise TypeError(f"unknown simulate() option(s) {bad}; allowed: {sorted(allowed)}")
    return SimulationConfig(**{**PRESETS[preset].__dict__, **overrides})
