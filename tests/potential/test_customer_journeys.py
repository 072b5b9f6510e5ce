"""Lead-to-cash per customer against the simulator's planted contracts and payments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.potential import customer_journeys
from salesml.potential.journey import STEPS

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def journeys(demo_data):
    data, _ = demo_data
    return customer_journeys(data)


def test_every_lead_has_one_chain_that_follows_the_tables(demo_data, journeys) -> None:
    data, truth = demo_data
    tab = journeys.table
    assert len(tab) == len(data.leads) and tab["lead_id"].is_unique
    leads = data.leads.set_index("lead_id")
    status = tab["lead_id"].map(leads["status"].astype("str"))
    # planted: a converted lead opens its first deal within three days of converting
    # (unless the data ends first); a lost one stopped before the deal step
    conv = tab["lead_id"].map(leads["converted_at"])
    settled = (status == "converted") & (conv + pd.Timedelta(days=3) < truth.end)
    assert settled.sum() >= 1000 and tab.loc[settled, "deal_id"].notna().all()
    lag = (tab.loc[settled, "deal_at"] - conv[settled]) / pd.Timedelta(days=1)
    assert lag.between(0, 3).all()
    lost = tab.loc[status == "lost"]
    assert (lost["reached"] == "lead").all() and (lost["stopped_at"] == "deal").all()
    assert (lost["state"] == "lost").all()
    # steps are reached in order and each takes non-negative time
    idx = tab["reached"].map({s: i for i, s in enumerate(STEPS)})
    for i, col in enumerate(["deal_at", "quote_at", "contract_at", "paid_at"], start=1):
        assert tab.loc[idx >= i, col].notna().all()
    for col in ("days_to_deal", "days_to_quote", "days_to_contract", "days_to_payment"):
        assert (tab[col].dropna() >= 0).all()
    # planted: every won deal signs its contract at the close
    deals = data.deals.set_index("deal_id")
    signed = tab.dropna(subset=["contract_at"])
    np.testing.assert_array_equal(
        signed["contract_at"].to_numpy(), signed["deal_id"].map(deals["closed_at"]).to_numpy()
    )
    assert (signed["deal_id"].map(deals["outcome"]) == "won").all()
    paid = tab["state"] == "paid"
    assert (tab.loc[paid, "reached"] == "payment").all()
    np.testing.assert_allclose(
        tab.loc[paid, "days_lead_to_cash"],
        tab.loc[paid, ["days_to_deal", "days_to_quote", "days_to_contract", "days_to_payment"]].sum(
            axis=1
        ),
        rtol=1e-9,
    )
    summ = journeys.summary()
    assert summ["reached"].is_monotonic_decreasing and summ.loc[0, "reached"] == len(tab)
    assert summ.loc[4, "reached"] == paid.sum()
    assert "全额回款" in journeys.key_findings("zh")[0]


def test_full_payment_matches_the_planted_schedule(demo_data, journeys) -> None:
    data, truth = demo_data
    tab = journeys.table
    k = data.contracts.set_index("contract_id")
    # planted: the contracts planted unpaid never reach the payment step
    unpaid = tab["contract_id"].isin(truth.unpaid_contracts)
    assert unpaid.sum() >= 10
    assert (tab.loc[unpaid, "state"] == "open").all()
    assert (tab.loc[unpaid, "stopped_at"] == "payment").all()
    # planted: one payment at half the term, or two halves with the second at the term,
    # each N(3, 6) days late clipped to [-5, 60]: full payment is the last one
    paid = tab.loc[tab["state"] == "paid"]
    n_pay = data.payments.groupby("contract_id").size()
    due = paid["contract_id"].map(k["payment_terms_days"]) * np.where(
        paid["contract_id"].map(n_pay) == 2, 1.0, 0.5
    )
    late = paid["days_to_payment"] - due
    assert len(paid) >= 300
    assert late.between(-5 - 1e-6, 60 + 1e-6).all()
    assert abs(late.median() - 3.0) <= 1.5
    # every other contract whose latest possible payment lies inside the data is paid
    latest = tab["contract_at"] + pd.to_timedelta(
        tab["contract_id"].map(k["payment_terms_days"]) + 60, unit="D"
    )
    settled = tab["contract_id"].notna() & ~unpaid & (latest < truth.end)
    assert settled.sum() >= 300 and (tab.loc[settled, "state"] == "paid").all()


def _fixture_data(with_money: bool = True) -> SalesData:
    def read(name: str, dates: tuple[str, ...], money: tuple[str, ...] = ()) -> pd.DataFrame:
        f = pd.read_csv(FIXTURES / f"crm_{name}.csv", dtype="str", keep_default_na=False)
        f = f.replace("", None)
        for c in dates:
            f[c] = pd.to_datetime(f[c])
        for c in money:
            f[c] = f[c].astype("float64")
        return f

    tables = {
        "leads": read(
            "leads", ("created_at", "first_response_at", "converted_at", "lost_at")
        ).rename(columns={"owner": "rep_id"}),
        "deals": read("deals", ("created_at", "closed_at"), ("amount",)),
    }
    if with_money:
        tables["quotes"] = read("quotes", ("sent_at", "first_viewed_at", "replied_at"), ("amount",))
        tables["contracts"] = read("contracts", ("signed_at",), ("amount",))
        tables["payments"] = read("payments", ("paid_at",), ("amount",))
    return SalesData(tables, DatasetConfig(name="crm", currency="EUR"))


def test_a_hand_made_export() -> None:
    res = customer_journeys(_fixture_data())
    tab = res.table.set_index("lead_id")
    assert tab.loc["W-1001", "state"] == "paid"
    assert tab.loc["W-1001", "paid_at"] == pd.Timestamp("2025-05-05 10:00")  # the second half
    assert tab.loc["W-1001", "quote_at"] == pd.Timestamp("2025-03-18 10:00")  # the first quote
    assert tab.loc["W-1008", "state"] == "open" and tab.loc["W-1008", "stopped_at"] == "payment"
    assert tab.loc["W-1008", "paid_share"] == pytest.approx(1 / 3)
    assert tab.loc["W-1004", "reached"] == "deal" and tab.loc["W-1004", "stopped_at"] == "quote"
    assert tab.loc["W-1002", "state"] == "lost" and tab.loc["W-1003", "state"] == "open"
    assert tab.loc["W-1003", "rep_id"] == "ben"  # the lead's owner from the export
    # no quotes, contracts or payments exported: said, and the chain stops at the deal
    bare = customer_journeys(_fixture_data(with_money=False))
    assert {n.key for n in bare.notes} == {"potential.journey.no_table"}
    assert set(bare.table["reached"]) <= {"lead", "deal"}
    only = customer_journeys(_fixture_data(), filters={"channel": "web_form"})
    assert set(only.table["channel"]) == {"web_form"}


def test_bad_input(demo_data) -> None:
    data, _ = demo_data
    with pytest.raises(ValueError, match="need a leads table"):
        customer_journeys(SalesData({"deals": data.deals}, data.config))
    with pytest.raises(ValueError, match="deals has no column 'lead_id'"):
        customer_journeys(data.replace(deals=data.deals.drop(columns="lead_id")))
