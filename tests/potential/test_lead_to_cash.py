"""Lead-to-cash decomposition against the simulator's planted truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from salesml.data.bundle import SalesData
from salesml.potential import lead_to_cash
from salesml.potential.cash import STAGES
from salesml.simulator.params import CH_CONV, CHANNELS


def test_by_channel_the_lead_stage_recovers_the_planted_conversion(demo_data) -> None:
    data, _ = demo_data
    res = lead_to_cash(data, by="channel")
    tab = res.table.set_index("group")
    g = tab.drop("all")
    true = np.array([dict(zip(CHANNELS, CH_CONV, strict=True))[c] for c in g.index])
    assert spearmanr(g["p_qualified"], true).statistic >= 0.9
    assert np.max(np.abs(g["p_qualified"] - true)) <= 0.08
    # the stage terms add up to the total, and every interval holds its point
    np.testing.assert_allclose(g[list(STAGES)].sum(axis=1), g["total"], atol=1e-9)
    for s in STAGES:
        assert (g[f"{s}_low"] <= g[s] + 1e-9).all() and (g[s] <= g[f"{s}_high"] + 1e-9).all()
    np.testing.assert_allclose(
        g["cash_per_lead"] / tab.loc["all", "cash_per_lead"], np.exp(g["total"]), rtol=1e-9
    )
    assert (g["days_to_cash"] > 0).all() and g["unexplained_loss_share"].between(0, 1).all()
    assert len(res.key_findings("zh")) == 2


def test_by_region_the_planted_breakpoint_is_the_weakest_sales_stage(demo_data) -> None:
    data, truth = demo_data
    res = lead_to_cash(data, by="region")
    g = res.table.set_index("group").drop("all")
    weakest = g["sales_actions"].idxmin()
    assert weakest == truth.breakpoint["region"]
    assert g.loc[weakest, "sales_actions"] < -0.1  # its 90% interval still reaches 0 at demo
    # leads carry no region in this dataset: said, and the lead stage left out
    assert g["lead_quality"].isna().all()
    assert any("区域" in n.text("zh") for n in res.notes)


def test_by_rep_the_sales_stage_follows_planted_skill(demo_data) -> None:
    data, truth = demo_data
    g = lead_to_cash(data, by="rep_id").table.set_index("group").drop("all")
    skill = truth.rep_skills.reindex(g.index).mean(axis=1)
    # measured 0.93 on the demo world
    assert spearmanr(g["sales_actions"], skill).statistic >= 0.8


def test_bad_input(demo_data) -> None:
    data, _ = demo_data
    with pytest.raises(ValueError, match="needs a leads table"):
        lead_to_cash(SalesData({"deals": data.deals}, data.config))
    with pytest.raises(ValueError, match="by must be one of"):
        lead_to_cash(data, by="segment")
    no_pay = SalesData(
        {k: v for k, v in data.tables.items() if k not in ("payments", "contracts")}, data.config
    )
    res = lead_to_cash(no_pay)
    assert any(n.key == "potential.cash.no_payments" for n in res.notes)
    assert res.table["days_to_cash"].isna().all()
