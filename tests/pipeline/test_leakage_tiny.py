"""Tests of ``lead_leakage`` on the hand-built dataset (known answers)."""

from __future__ import annotations

import numpy as np
import pytest

from salesml.data.bundle import MissingTableError, SalesData
from salesml.pipeline import lead_leakage
from salesml.pipeline.leakage import UNEXPLAINED


def test_known_leakage(tiny: SalesData) -> None:
    r = lead_leakage(tiny)
    o = r.overview.iloc[0]
    assert (o["leads"], o["lost"], o["lost_unexplained"], o["converted"]) == (10, 6, 2, 2)
    assert r.unexplained_share == pytest.approx(2 / 6)
    assert o["conversion_rate"] == pytest.approx(2 / 8)
    # responses after 1..9 hours, one lead never answered
    assert o["response_mean_h"] == pytest.approx(5.0)
    assert o["response_median_h"] == pytest.approx(5.0)
    assert o["response_p90_h"] == pytest.approx(np.percentile(np.arange(1, 10), 90))
    assert o["no_response"] == 1
    assert r.reasons["reason"].tolist() == ["price", UNEXPLAINED, "competitor"]
    assert r.reasons["share_of_lost"].sum() == pytest.approx(1.0)
    ch = r.table.set_index("channel")
    assert ch.loc["online_ads", "unexplained_share"] == pytest.approx(0.5)
    assert ch["leads"].sum() == 10


def test_blank_reason_is_unexplained(tiny: SalesData) -> None:
    leads = tiny.leads.copy()
    leads.loc[0, "lost_reason"] = "  "
    r = lead_leakage(tiny.replace(leads=leads))
    assert r.overview.iloc[0]["lost_unexplained"] == 3


def test_filters_and_period(tiny: SalesData) -> None:
    assert lead_leakage(tiny, filters={"channel": "wechat"}).overview.iloc[0]["leads"] == 5
    assert lead_leakage(tiny, period="2026-02").overview.iloc[0]["leads"] == 0
    with pytest.raises(ValueError, match="cannot filter on 'region'"):
        lead_leakage(tiny, filters={"region": "华东"})


def test_missing_leads_table(tiny: SalesData) -> None:
    no_leads = SalesData({k: v for k, v in tiny.tables.items() if k != "leads"})
    with pytest.raises(MissingTableError, match=r"lead leakage needs the table.*leads"):
        lead_leakage(no_leads)


def test_findings(tiny: SalesData) -> None:
    r = lead_leakage(tiny)
    en = r.key_findings()
    assert "33%" in en[0] and "no recorded reason" in en[0]
    assert "没有记录原因" in r.key_findings("zh")[0]
    assert "Lead leakage" in r._repr_html_()
