"""Store materials: ledger and alerts, the planted anomalous store, the scan rollout, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.ops.materials import (
    LedgerResult,
    material_ledger,
    scan_rollout,
    store_cost_anomalies,
)
from salesml.simulator import simulate

FIX = Path(__file__).parent / "fixtures"


def _month(ts: pd.Timestamp) -> pd.Period:
    return pd.Timestamp(ts).to_period("M")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_the_planted_store_ranks_first_with_its_start_month(seed: int) -> None:
    data, truth = simulate(preset="demo", seed=seed)
    planted = truth.anomalous_stores.iloc[0]
    r = store_cost_anomalies(data)
    top = r.table.iloc[0]
    assert top["store_id"] == planted["store_id"] and bool(top["flagged"])
    assert len(r.flagged) - 1 <= 1  # at most one false alarm
    start = pd.Period(top["since"], "M")
    assert abs((start - _month(planted["since"])).n) <= 1
    # the cost excess itself is significant: its interval lies above the regional level
    assert top["ratio_low"] > 1.0
    assert r.key_findings("zh")[0].startswith("门店 " + planted["store_id"])


def test_heatmap_ratios_are_against_the_regions_other_stores(demo_data) -> None:
    data, _ = demo_data
    r = store_cost_anomalies(data)
    hm = r.heatmap
    row = hm[(hm["store_id"] == "S02") & (hm["month"] == "2026-03")].iloc[0]
    same = hm[
        (hm["region"] == row["region"]) & (hm["month"] == "2026-03") & (hm["store_id"] != "S02")
    ]
    assert row["regional_cost_per_customer"] == pytest.approx(
        same["cost"].sum() / same["served"].sum()
    )
    assert row["ratio"] == pytest.approx(
        row["cost_per_customer"] / row["regional_cost_per_customer"]
    )
    assert hm["store_id"].nunique() == len(data["stores"])
    # filters keep stores of one region
    rf = store_cost_anomalies(data, filters={"region": "华东"})
    assert set(rf.table["region"]) == {"华东"}


def test_ledger_balances_and_kpis(demo_data) -> None:
    data, _ = demo_data
    r = material_ledger(data)
    assert isinstance(r, LedgerResult)
    mv = data["material_movements"]
    sign = mv["kind"].map({"receive": 1, "transfer_in": 1}).fillna(-1)
    net = (mv["qty"] * sign).groupby([mv["store_id"], mv["sku"]]).sum()
    last = r.table.groupby(["store_id", "sku"])["stock_end"].last()
    pd.testing.assert_series_equal(last.sort_index(), net.sort_index(), check_names=False)
    s = r.stores.set_index("store_id")
    red = mv[mv["kind"] == "redeem"]
    assert s.loc["S04", "scan_rate"] == pytest.approx(
        red[red["store_id"] == "S04"]["scanned"].mean()
    )
    loss = mv[(mv["store_id"] == "S01") & (mv["kind"] == "loss")]["qty"].sum()
    out = mv[(mv["store_id"] == "S01") & mv["kind"].isin(["issue", "redeem"])]["qty"].sum()
    assert s.loc["S01", "loss_rate"] == pytest.approx(loss / out)
    # the store that stopped scanning: unscanned-redemption alerts, highest cost per customer
    un = r.alerts[r.alerts["alert"] == "unscanned_redemptions"]
    assert set(un["store_id"]) == {"S04"}
    assert s["cost_per_customer"].idxmax() == "S04"
    # simulated stock is conserved: no negative-stock alert (the fixture below has one)
    assert not (r.alerts["alert"] == "negative_stock").any()
    assert (r.table["stock_end"] >= 0).all()
    assert len(r.problems) == 0  # transfers still in transit at the end are not problems
    for lang in ("en", "zh"):
        assert r.key_findings(lang)


def _fixture() -> SalesData:
    mv = pd.read_csv(FIX / "material_movements_export.csv", parse_dates=["occurred_at"])
    st = pd.read_csv(FIX / "stores.csv")
    return SalesData({"material_movements": mv, "stores": st})


def test_export_fixture_bad_rows_and_alerts() -> None:
    r = material_ledger(_fixture(), lead_time_days=45, cover_window_days=30)
    probs = r.problems.set_index("movement_id")["problem"].to_dict()
    assert probs == {"M6": "negative_qty", "M7": "transfer_without_out", "M9": "unknown_kind"}
    # nothing lost: ledger rows + problem rows kept out == read (M7 stays in the ledger)
    counted = (
        r.table[["receive", "transfer_in", "issue", "redeem", "transfer_out", "loss"]]
        .to_numpy()
        .sum()
    )
    mv = _fixture()["material_movements"]
    assert counted == mv.loc[~mv["movement_id"].isin(["M6", "M9"]), "qty"].sum()
    a = r.alerts.set_index(["alert", "store_id"])
    assert a.loc[("negative_stock", "S2"), "sku"] == "宣传单"
    assert ("unscanned_redemptions", "S2") in a.index
    low = r.alerts[r.alerts["alert"] == "low_cover"]
    assert set(zip(low["store_id"], low["sku"], strict=True)) >= {("S1", "展架")}
    assert any("negative_qty" in s for s in r.key_findings("en"))


def test_scan_rollout_intervals_and_a_planted_change(demo_data) -> None:
    data, truth = demo_data
    # the simulator piles the stock moves of its last, partial month onto its final
    # instant (a quirk of its monthly draws): measure up to one hour before it
    end = truth.end - pd.Timedelta(hours=1)
    r = scan_rollout(data, as_of=end)
    assert r.rollout == truth.go_live
    t = r.table.set_index("kpi")
    # transfers are drawn at a constant rate: the interval covers no change
    tr = t.loc["transfers_per_store_month"]
    assert tr["low"] < 0 < tr["high"]
    # the loss rate, by hand (its denominator, redemptions, grows after the go-live)
    mv = data["material_movements"]
    mv = mv[mv["occurred_at"] < end]
    aft = mv["occurred_at"] >= truth.go_live
    for flag, col in ((False, "before"), (True, "after")):
        part = mv[aft == flag]
        want = (
            part.loc[part["kind"] == "loss", "qty"].sum()
            / part.loc[part["kind"].isin(["issue", "redeem"]), "qty"].sum()
        )
        assert t.loc["loss_rate", col] == pytest.approx(want)
    for _, row in r.table.iterrows():
        assert row["low"] <= row["change"] <= row["high"]
    # a planted change is found: three times the losses after the rollout
    mv = data["material_movements"].copy()
    after_loss = (mv["kind"] == "loss") & (mv["occurred_at"] >= truth.go_live)
    mv.loc[after_loss, "qty"] *= 3
    r2 = scan_rollout(data.replace(material_movements=mv), as_of=end)
    lr = r2.table.set_index("kpi").loc["loss_rate"]
    assert lr["low"] > 0 and lr["change"] == pytest.approx(
        3 * (t.loc["loss_rate", "change"] + 1) - 1, rel=0.05
    )


def test_missing_tables_and_bad_options() -> None:
    with pytest.raises(Exception, match="material_movements"):
        material_ledger(SalesData({}))
    with pytest.raises(ValueError, match="lead_time_days"):
        material_ledger(_fixture(), lead_time_days=-1)
    with pytest.raises(ValueError, match="rollout"):
        scan_rollout(_fixture())
    assert np.isfinite(scan_rollout(_fixture(), rollout="2026-01-08").table["before"]).all()
