"""Maintenance: recompute the presets' shipped expected CAC (``expected_cac.json``).

Run ``python -m salesml.simulator.refresh [PRESET ...]`` (default: demo, tiny, S, M)
whenever the generator changes; ``tests/simulator/test_expected_cac.py`` fails until
then, because each entry records the digest (salesml.simulator.digest) of its preset's seed-0 data.
Entries of presets not named are kept.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from salesml.simulator.config import PRESETS
from salesml.simulator.digest import stable_digest
from salesml.simulator.expected import (
    EXPECTED_CAC_COLUMNS,
    EXPECTED_CAC_FILE,
    MC_ENTROPY,
    SHIPPED_MC_CUSTOMERS,
    compute_expected_cac,
    shipped_table,
)
from salesml.simulator.generate import simulate

__all__ = ["write_expected_cac"]

DEFAULT_PRESETS = ("demo", "tiny", "S", "M")


def write_expected_cac(presets: Sequence[str] = DEFAULT_PRESETS) -> Path:
    """Recompute the expected CAC of ``presets`` and rewrite :data:`EXPECTED_CAC_FILE`."""
    table = dict(shipped_table())
    for name in presets:
        cfg = PRESETS[name]
        frame = compute_expected_cac(cfg, SHIPPED_MC_CUSTOMERS)
        data, _ = simulate(preset=name, seed=0)
        table[name] = {
            "config": cfg.to_dict(),
            "mc_customers": SHIPPED_MC_CUSTOMERS,
            "mc_entropy": MC_ENTROPY,
            "seed0_digest": stable_digest(data),
            "channels": {
                ch: {c: float(frame.loc[ch, c]) for c in EXPECTED_CAC_COLUMNS} for ch in frame.index
            },
        }
        print(name, frame.round(1).to_string(), sep="\n", flush=True)
        # written after each preset, so an interrupted refresh keeps what it finished
        EXPECTED_CAC_FILE.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
        shipped_table.cache_clear()
    return EXPECTED_CAC_FILE


if __name__ == "__main__":  # pragma: no cover - maintenance command
    write_expected_cac(sys.argv[1:] or DEFAULT_PRESETS)
