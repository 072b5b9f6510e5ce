"""Bad input: no collaboration events, a rep without events, roles outside the three."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.capability import capability_scores
from salesml.data.bundle import SalesData


def test_without_collab_events_delivery_is_scored_from_customer_replies(demo_data) -> None:
    data, truth = demo_data
    tables = {n: data[n] for n in data if n != "collab_events"}
    r = capability_scores(SalesData(tables, data.config))
    assert any(n.key == "capability.note.no_collab" for n in r.notes)
    assert "collab_events" in " ".join(r.key_findings("en"))
    tab = r.table
    other = tab[tab["scenario"] != "delivery"]
    # technical and commercial keep what activities show (demos, re-quotes) and nothing
    # from collaboration: partial scores with the components they rest on
    assert (other[["n_timeliness", "n_quality"]] == 0).all().all()
    tech = other[other["scenario"] == "technical"]
    assert (tech["evidence"] == tech["n_field"]).all() and tech["n_outcome"].eq(0).all()
    comm = other[other["scenario"] == "commercial"]
    assert (comm["evidence"] <= comm["n_outcome"]).all() and comm["n_field"].eq(0).all()
    assert other["timeliness"].isna().all() and other["quality"].isna().all()
    seller_rows = other["rep_id"].isin(data.reps.loc[data.reps["role"] == "sales", "rep_id"])
    assert (other.loc[~seller_rows, "evidence"] == 0).all()  # managers run no demos
    assert np.allclose(other.loc[~seller_rows, "score"], 0.0)
    assert (other.loc[~seller_rows, "upper"] - other.loc[~seller_rows, "lower"] > 3).all()
    dl = tab[tab["scenario"] == "delivery"]
    sellers = dl["rep_id"].isin(data.reps.loc[data.reps["role"] == "sales", "rep_id"])
    assert (dl.loc[sellers, "n_outcome"] > 0).all() and dl["n_quality"].eq(0).all()
    dl = dl[sellers]  # managers own no customers, so answer no customer messages
    rho = pd.Series(dl["score"].to_numpy()).corr(
        pd.Series(truth.rep_skills["delivery"].reindex(dl["rep_id"]).to_numpy()), method="spearman"
    )
    assert rho > 0.5  # one weak signal (reply delays carry habits besides the skill)


def test_rep_without_events_gets_the_average_with_a_wide_interval(demo_data) -> None:
    data, _ = demo_data
    newcomer = data.reps.iloc[[3]].assign(rep_id="R999", name="新人")
    reps = pd.concat([data.reps, newcomer], ignore_index=True)
    r = capability_scores(data.replace(reps=reps))
    row = r.table[r.table["rep_id"] == "R999"]
    assert len(row) == 3
    assert (row["evidence"] == 0).all() and row["low_evidence"].all()
    assert np.allclose(row["score"], 0.0) and row["raw"].isna().all()
    note = [n for n in r.notes if n.key == "capability.note.reps_without_events"]
    assert note and "R999" in note[0].text("en") and "R999" in note[0].text("zh")


def test_roles_outside_the_three_are_named_and_spelling_is_forgiven(demo_data) -> None:
    data, _ = demo_data
    ce = data.collab_events.copy()
    role = ce["role"].astype(object)
    resp = np.flatnonzero((ce["kind"] == "response").to_numpy())
    role.iloc[resp[:40]] = "legal"
    role.iloc[resp[40:200]] = " Technical"
    ce["role"] = role
    r = capability_scores(data.replace(collab_events=ce))
    texts = [n.text("en") for n in r.notes if n.key == "capability.note.unknown_role"]
    assert texts == [
        "collab_events: 40 rows have role 'legal', which is not technical, commercial or delivery; they are left out"
    ]
    d = r.dropped
    assert d.loc[d["reason"] == "unknown_role", "rows"].sum() == 40
    base = capability_scores(data)
    n_tech = r.table.loc[r.table["scenario"] == "technical", "n_quality"].sum()
    n_base = base.table.loc[base.table["scenario"] == "technical", "n_quality"].sum()
    assert n_tech > n_base - 40  # " Technical" rows count as technical


def test_nothing_to_score_and_missing_columns_are_clear_errors(demo_data) -> None:
    data, _ = demo_data
    empty = data.replace(
        collab_events=data.collab_events.iloc[:0], activities=data.activities.iloc[:0]
    )
    with pytest.raises(ValueError, match="no events to score"):
        capability_scores(empty)
    with pytest.raises(ValueError, match=r"column\(s\) actor_id in table 'collab_events'"):
        capability_scores(data.replace(collab_events=data.collab_events.drop(columns="actor_id")))
    tables = {n: data[n] for n in data if n != "deals"}
    with pytest.raises(LookupError, match="deals"):
        capability_scores(SalesData(tables, data.config))
