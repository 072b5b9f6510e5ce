"""create_lead rules make real rows of the leads table, written without losing any row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from salesml.data.errors import DatasetError
from salesml.data.io import load_dataset, save_dataset
from salesml.rules import create_followup_leads, due_followups, followup_leads, save_followup_leads
from salesml.rules.leads import FOLLOWUP_CHANNEL, LEAD_COLUMNS, previous_tasks

FIXTURE = Path(__file__).parent / "fixtures" / "cn_leads_export"


@pytest.fixture(scope="module")
def demo_leads(demo_data):
    data, truth = demo_data
    return followup_leads(due_followups(data, as_of=truth.end))


def test_one_lead_per_lead_task_with_stable_ids(demo_data, demo_leads):
    data, truth = demo_data
    tasks = due_followups(data, as_of=truth.end).table
    lead_tasks = tasks[tasks["kind"] == "lead"]
    assert len(demo_leads) == len(lead_tasks) > 10
    assert list(demo_leads.columns) == list(LEAD_COLUMNS)
    assert (
        demo_leads["lead_id"].is_unique
        and demo_leads["lead_id"].str.match(r"^LF[0-9A-F]{12}$").all()
    )
    assert (demo_leads["channel"] == FOLLOWUP_CHANNEL).all() and (
        demo_leads["status"] == "open"
    ).all()
    assert set(demo_leads["source_rule"]) == {"visit_problem_lead"}
    by_task = lead_tasks.set_index("task_id")
    got = demo_leads.set_index("source_task_id")
    assert (got["owner_rep_id"] == by_task.loc[got.index, "owner_id"]).all()
    assert (got["customer_id"] == by_task.loc[got.index, "customer_id"]).all()
    assert (got["created_at"] == by_task.loc[got.index, "anchor_at"]).all()
    # the lead comes from a visit rated 1/5 of that customer, at that time
    act = data.activities.set_index("activity_id")
    visit = act.loc[by_task.loc[got.index, "subject_id"]]
    assert (visit["kind"] == "visit").all() and (visit["quality"] <= 1).all()
    assert (visit["customer_id"].to_numpy() == got["customer_id"].to_numpy()).all()
    # the same tasks (a rerun) give the same ids
    again = followup_leads(due_followups(data, as_of=truth.end))
    pd.testing.assert_frame_equal(again, demo_leads)


def test_saved_leads_pass_the_schema_and_a_rerun_adds_nothing(demo_data, tmp_path):
    data, truth = demo_data
    folder = save_dataset(data.replace(leads=data.leads), tmp_path / "ds")
    before = len(data.leads)
    as_of = truth.end - pd.Timedelta(days=45)
    first = create_followup_leads(folder, as_of=as_of)
    assert len(first) > 0
    assert len(create_followup_leads(folder, as_of=as_of)) == 0  # rerun: idempotent
    later = create_followup_leads(folder, as_of=truth.end)
    assert len(later) > 0 and not set(later["lead_id"]) & set(first["lead_id"])
    back = load_dataset(folder, tables=["leads", "customers", "campaigns"], progress=False)
    assert back.validation.ok, back.validation.quarantine
    leads = back.leads
    assert len(leads) == before + len(first) + len(later)
    assert set(data.leads["lead_id"]) <= set(leads["lead_id"])  # nothing lost
    mine = leads[leads["source_rule"].notna()]
    assert len(mine) == len(first) + len(later)
    assert set(mine["customer_id"]) <= set(back.customers["customer_id"])
    # the cooldown held across the runs: one lead per customer per 30 days
    gaps = mine.sort_values("created_at").groupby("customer_id")["created_at"].diff().dropna()
    assert (gaps >= pd.Timedelta(days=30)).all()
    assert len(previous_tasks(leads)) == len(mine)


def test_a_month_partitioned_folder_gets_one_more_part(tmp_path):
    from salesml.simulator import simulate

    data, truth = simulate(preset="tiny", seed=1)
    folder = save_dataset(data, tmp_path / "parts", partition="month")
    files = {p: p.read_bytes() for p in (folder / "leads").rglob("*.parquet")}
    new = followup_leads(due_followups(data, as_of=truth.end))
    assert len(new) > 0
    assert len(save_followup_leads(new, folder)) == len(new)
    assert len(save_followup_leads(new, folder)) == 0
    for p, b in files.items():  # the existing parts are untouched
        assert p.read_bytes() == b
    added = set((folder / "leads").rglob("part-followups-*.parquet"))
    assert len(added) == new["created_at"].dt.strftime("%Y-%m").nunique()
    back = load_dataset(folder, tables=["leads", "customers", "campaigns"], progress=False)
    assert back.validation.ok
    assert len(back.leads) == len(data.leads) + len(new)


def test_a_csv_export_keeps_its_bytes_its_quarantine_and_gets_the_leads(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    raw = (folder / "leads.csv").read_bytes()
    data = load_dataset(folder, progress=False)
    q0 = data.quarantine[["table", "row", "column", "rule"]]
    assert q0.values.tolist() == [["leads", 1, "status", "allowed_values"]]
    with pytest.warns(UserWarning, match="source_rule"):
        added = create_followup_leads(folder, as_of="2026-03-10")
    # C01's second bad visit (5 days after the first) is within the cooldown; the empty
    # quality cell selects nothing
    assert added[["customer_id", "owner_rep_id"]].values.tolist() == [["C01", "S1"], ["C02", "S2"]]
    text = (folder / "leads.csv").read_bytes()
    assert text.startswith(raw)  # every line as it was, the typo row included
    lines = text.decode("gb18030")
    assert lines.count("\r\n") == lines.count("\n") == 4 + 1 + 2  # its own line ends
    back = load_dataset(folder, progress=False)
    assert back.quarantine[["table", "row", "column", "rule"]].values.tolist() == q0.values.tolist()
    assert len(back.leads) == len(data.leads) + 2
    new = back.leads[back.leads["channel"] == FOLLOWUP_CHANNEL]
    assert set(new["lead_id"]) == set(added["lead_id"]) and (new["status"] == "open").all()
    assert "价格太高" in set(back.leads["lost_reason"].dropna())
    assert len(create_followup_leads(folder, as_of="2026-03-10")) == 0  # ids dedupe a rerun


def test_rows_that_break_the_schema_are_refused_and_nothing_is_written(demo_leads, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    raw = (folder / "leads.csv").read_bytes()
    bad = demo_leads.head(3).copy()
    bad.loc[1, "status"] = "opne"
    with pytest.raises(DatasetError, match=r"row 1 column status .*nothing was written"):
        save_followup_leads(bad, folder)
    with pytest.raises(DatasetError, match=r"lead_id .* twice"):
        save_followup_leads(pd.concat([demo_leads.head(1)] * 2), folder)
    with pytest.raises(DatasetError, match="missing"):
        save_followup_leads(demo_leads.drop(columns=["owner_rep_id"]), folder)
    with pytest.raises(DatasetError, match="not a dataset folder"):
        save_followup_leads(demo_leads, tmp_path)
    assert (folder / "leads.csv").read_bytes() == raw


def test_remind_create_leads_adds_them_once(tmp_path, capsys):
    from salesml.cli import main

    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    argv = ["remind", "--data", str(folder), "--as-of", "2026-03-10", "--lang", "en"]
    with pytest.warns(UserWarning, match="owner_rep_id"):
        assert main([*argv, "--create-leads"]) == 0
    assert "2 new lead(s) added" in capsys.readouterr().out
    assert main([*argv, "--create-leads"]) == 0
    out = capsys.readouterr().out
    assert "0 new lead(s) added" in out and "Dry run" in out
    assert main(argv) == 0  # without the flag nothing is written
    assert "new lead" not in capsys.readouterr().out
    back = load_dataset(folder, tables=["leads"], progress=False)
    assert (back.leads["channel"] == FOLLOWUP_CHANNEL).sum() == 2
