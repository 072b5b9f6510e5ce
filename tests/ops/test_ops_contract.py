"""The analysis contract on every public analysis of salesml.ops."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

from salesml.filters import FilterSpec
from salesml.ops import (
    ApprovalResult,
    ImpactResult,
    LedgerResult,
    RolloutResult,
    StoreAnomalyResult,
    WarRoomResult,
    approval_sla,
    material_ledger,
    scan_rollout,
    store_cost_anomalies,
    war_room,
    war_room_impact,
)
from salesml.periods import Period
from salesml.results import AnalysisResult

ANALYSES = [
    (approval_sla, ApprovalResult),
    (material_ledger, LedgerResult),
    (store_cost_anomalies, StoreAnomalyResult),
    (scan_rollout, RolloutResult),
    (war_room, WarRoomResult),
    (war_room_impact, ImpactResult),
]


@pytest.mark.parametrize(("analysis", "kind"), ANALYSES)
def test_signature_is_data_then_keyword_only_options(analysis, kind) -> None:
    params = list(inspect.signature(analysis).parameters.values())
    assert params[0].name == "data"
    rest = params[1:]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest)
    assert [p.name for p in rest[:3]] == ["period", "as_of", "filters"]
    assert all(p.default is None for p in rest[:3])
    assert issubclass(kind, AnalysisResult)


@pytest.mark.parametrize(("analysis", "kind"), ANALYSES)
def test_results_follow_the_contract(demo_data, analysis, kind) -> None:
    data, _ = demo_data
    p = Period.parse("2026-Q2")
    r = analysis(data, period=p, filters={"region": "华东"})
    assert isinstance(r, kind) and r.period == p
    assert isinstance(r.filters, FilterSpec) and r.filters
    assert isinstance(r.table, pd.DataFrame) and len(r.table)
    assert isinstance(r.summary(), pd.DataFrame)
    for lang in ("en", "zh"):
        found = r.key_findings(lang)
        assert isinstance(found, list) and all(isinstance(s, str) for s in found)
        assert not any("ops." in s for s in found)  # no catalog key left unresolved
    card = r._repr_html_()
    assert r.title() in card and "2026-Q2" in card
    assert analysis(data, period="2026-Q2").period == p
