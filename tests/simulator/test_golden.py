"""Golden fingerprints of the simulator's output.

These are hard-coded values on purpose. Their only job is to catch an *accidental*
change to the generator (a reordered random draw, a refactoring that changes a float
sum, a new draw from the shared stream): every benchmark figure and every tolerance in
the tests was measured on this exact data. When the generator is changed on purpose,
re-measure what depends on it and update the values here in the same commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields

import pandas as pd
import pytest

from salesml.simulator import Truth, simulate

#: (preset, seed) -> (SalesData.fingerprint(), digest of the truth fields below)
GOLDEN = {
    ("tiny", 0): ("d91fd55727ceb956", "9b0c43a36201f242"),
    ("demo", 0): ("ead19e1c22ab42c2", "0bb01da343380398"),
}
#: The truth fields the digest covers (fields added later are pinned by their own tests).
TRUTH_FIELDS = (
    "rep_skills",
    "deal_win_prob",
    "stage_pass_prob",
    "win_model",
    "stage_conversion",
    "breakpoint",
    "lead_loss",
    "first_response_hours",
    "channel_cac",
    "customer_acquisition_cost",
    "go_live",
    "kpi_effects",
    "anomalous_stores",
    "sla_hours",
    "sla_breaches",
    "unanswered_quotes",
    "unpaid_contracts",
    "end",
    "faults",
    "encoding",
    "seed",
    "preset",
)


def truth_digest(truth: Truth) -> str:
    """A short hash of the values of :data:`TRUTH_FIELDS`."""
    names = {f.name for f in fields(truth)}
    h = hashlib.sha256()
    for name in TRUTH_FIELDS:
        assert name in names, name
        v = getattr(truth, name)
        h.update(name.encode())
        if isinstance(v, pd.DataFrame | pd.Series):
            kind = v.dtypes.astype(str).to_dict() if isinstance(v, pd.DataFrame) else str(v.dtype)
            h.update(repr((v.shape, v.index.name, kind)).encode())
            if len(v):
                h.update(pd.util.hash_pandas_object(v, index=True).to_numpy().tobytes())
        elif isinstance(v, pd.Index):
            h.update(json.dumps([str(x) for x in v]).encode())
        elif isinstance(v, pd.Timestamp):
            h.update(v.isoformat().encode())
        else:
            h.update(json.dumps(v, sort_keys=True, default=repr).encode())
    return h.hexdigest()[:16]


@pytest.mark.parametrize(("preset", "seed"), sorted(GOLDEN))
def test_generator_output_is_unchanged(preset: str, seed: int, demo_data) -> None:
    data, truth = demo_data if (preset, seed) == ("demo", 0) else simulate(preset=preset, seed=seed)
    fingerprint, digest = GOLDEN[(preset, seed)]
    assert data.fingerprint() == fingerprint
    assert truth_digest(truth) == digest
