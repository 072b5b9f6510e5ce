"""``pipeline_weekly`` through the CLI: success, region filter, and the failure path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from salesml.cli import main
from salesml.data.io import folder_fingerprint, load_dataset
from salesml.demo import latest_complete_month
from salesml.reports.catalog.pipeline_weekly import (
    REPORT,
    breakpoint_rows,
    duration_rows,
    funnel_rows,
)
from salesml.reports.export import external_scripts


@pytest.fixture(scope="module")
def period(tiny_dataset: Path) -> str:
    return latest_complete_month(load_dataset(tiny_dataset, progress=False))


@pytest.mark.slow
def test_cli_run_then_failing_run_keeps_good_report(
    tiny_dataset: Path, period: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    args = ["report", "run", "pipeline_weekly", "--period", period, "--out", str(out)]
    assert main([*args, "--data", str(tiny_dataset), "-p", "lang", "zh"]) == 0
    printed = capsys.readouterr().out
    folder = out / "pipeline_weekly" / f"{period}__zh"  # the language is part of the folder
    html_path = folder / "pipeline_weekly.html"
    assert str(html_path) in printed
    page = html_path.read_text(encoding="utf-8")
    # a monthly run is titled as one (it said 周报, weekly, on every period)
    assert "销售漏斗月报" in page and "周报" not in page and "关键发现" in page
    assert external_scripts(page) == []
    assert "start_report(" not in page  # code hidden
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["title"]["zh"] == "销售漏斗月报" and run["period_kind"] == "month"
    # one fingerprint per dataset folder (issue 10 item 12): the same whichever tables a
    # report loads, the same as the full load's, and the header says which tables it read
    data = load_dataset(tiny_dataset, progress=False, tables=list(REPORT.loads))
    everything = load_dataset(tiny_dataset, progress=False)
    assert run["dataset_fingerprint"] == data.fingerprint() == everything.fingerprint()
    assert run["dataset_fingerprint"] == folder_fingerprint(tiny_dataset)
    assert run["fingerprint_covers"] == sorted(REPORT.loads)
    assert sorted(run["dataset"]["tables"]) == sorted(REPORT.loads)
    assert f"数据集指纹 {data.fingerprint()}" in page and ", ".join(sorted(REPORT.loads)) in page
    assert run["parameters"]["lang"] == "zh" and run["status"] == "ok"
    good = html_path.read_bytes()

    # a deals file that is not Parquet passes the pre-checks but makes the notebook fail
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dataset, broken)
    (broken / "deals.parquet").write_bytes(b"not a parquet file")
    assert main([*args, "--data", str(broken), "-p", "lang", "zh"]) == 1
    err = capsys.readouterr().err
    assert "failed at cell" in err and "deals" in err
    assert html_path.read_bytes() == good  # last good report untouched
    failed = out / "pipeline_weekly" / f"{period}__zh.failed"
    nb = nbformat.read(failed / "pipeline_weekly.ipynb", as_version=4)
    marked = [c for c in nb.cells if c.metadata.get("papermill", {}).get("exception")]
    assert len(marked) == 1 and "start_report(" in marked[0].source
    assert json.loads((failed / "run.json").read_text(encoding="utf-8"))["status"] == "failed"


@pytest.mark.slow
def test_region_filter_and_refusals(
    tiny_dataset: Path, period: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    data = load_dataset(tiny_dataset, progress=False)
    region = sorted(data.customers["region"].unique())[0]
    base = ["report", "run", "pipeline_weekly", "--data", str(tiny_dataset), "--period", period]
    assert main([*base, "--out", str(out), "--region", region, "-p", "n_findings", "4"]) == 0
    folder = out / "pipeline_weekly" / f"{period}__{region}__n_findings-4"
    page = (folder / "pipeline_weekly.html").read_text(encoding="utf-8")
    assert f"Region: {region}" in page
    assert "Monthly pipeline report" in page
    assert "covers every region" in page  # the leakage section says it is not filtered
    capsys.readouterr()
    # refused before execution: exit 2, nothing written
    assert main([*base, "--out", str(out / "x"), "-p", "n_findings", "many"]) == 2
    assert main([*base, "--out", str(out / "x"), "-p", "__import__('os')", "1"]) == 2
    assert main([*base, "--out", str(out / "../escape")]) == 2
    err = capsys.readouterr().err
    assert "'n_findings' must be int" in err and "plain identifiers" in err and "'..'" in err
    # what the data cannot answer is refused up front too: region, period, tables
    assert main([*base, "--out", str(out / "x"), "--region", "Narnia"]) == 2
    assert "known regions" in capsys.readouterr().err
    assert main([*base[:-1], "2031-01", "--out", str(out / "x")]) == 2
    assert "lies outside the data" in capsys.readouterr().err
    no_deals = tmp_path / "no_deals"
    shutil.copytree(tiny_dataset, no_deals)
    for f in no_deals.glob("deals.*"):
        f.unlink()
    args = ["report", "run", "pipeline_weekly", "--data", str(no_deals), "--period", period]
    assert main([*args, "--out", str(out / "x")]) == 2
    assert "no deals table" in capsys.readouterr().err
    # a region cannot be checked, nor applied, without the table regions come from
    no_customers = tmp_path / "no_customers"
    shutil.copytree(tiny_dataset, no_customers)
    for f in no_customers.glob("customers.*"):
        f.unlink()
    args = ["report", "run", "pipeline_weekly", "--data", str(no_customers), "--period", period]
    assert main([*args, "--out", str(out / "x"), "--region", region]) == 2
    err = capsys.readouterr().err
    assert "regions come from the customers table" in err and len(err.strip().splitlines()) == 1
    # a file given as --data: one line, exit 2, no traceback
    assert main([*args[:3], "--data", str(tiny_dataset / "deals.parquet"), *args[5:]]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    # a rule file outside the allowed folders is refused on the command line side
    cac = ["report", "run", "cac_monthly", "--data", str(tiny_dataset), "--period", period]
    assert main([*cac, "--out", str(out / "x"), "-p", "rules", "/etc/hostname"]) == 2
    assert "outside the folders" in capsys.readouterr().err
    assert main([*cac, "--out", str(out / "x"), "-p", "rules", str(tmp_path / "no.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (out / "x").exists()


def test_breakpoint_rows_selects_the_region(demo_data) -> None:
    from salesml.pipeline import funnel_breakpoints

    data, truth = demo_data
    b = funnel_breakpoints(data, by="region")
    rows = breakpoint_rows(b, truth.breakpoint["region"], "region")
    assert set(rows["region"]) == {truth.breakpoint["region"]}
    assert list(rows["stage"]) == data.stage_order
    top = breakpoint_rows(b, None, "region")
    first = top.iloc[0]
    assert (first["region"], first["stage"]) == (
        truth.breakpoint["region"],
        truth.breakpoint["stage"],
    )


def test_section_rows_skip_missing_results(demo_data) -> None:
    from salesml.pipeline import funnel, stage_durations

    data, _ = demo_data
    assert funnel_rows(None) is None and duration_rows(None) is None
    assert breakpoint_rows(None, None, "region") is None
    rows = funnel_rows(funnel(data))
    assert list(rows["stage"]) == [*data.stage_order, "won"]
    assert list(duration_rows(stage_durations(data))["stage"]) == data.stage_order


@pytest.mark.slow
def test_report_on_an_imported_export_counts_its_rejected_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hand-made CRM export (10 opportunities, two of them broken) through import and report."""
    crm = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "crm_export"
    src = tmp_path / "export"
    shutil.copytree(crm, src)
    opp = src / "opportunities.csv"
    text = opp.read_text(encoding="utf-8")
    opp.write_text(
        text.replace('"148,000.00"', '"-148,000.00"').replace("04/05/2025", "2025.04.05"),
        encoding="utf-8",
    )
    folder = tmp_path / "crm"
    assert (
        main(
            [
                "import",
                str(src),
                "--mapping",
                str(crm / "mapping.yaml"),
                "--out",
                str(folder),
                "--allow-rejects",
            ]
        )
        == 0
    )
    out = tmp_path / "reports"
    args = ["report", "run", "pipeline_weekly", "--data", str(folder), "--period", "2025-H1"]
    assert main([*args, "--out", str(out)]) == 2  # not a period: refused, one line
    assert "cannot read period" in capsys.readouterr().err
    args[-1] = "2025-01-01..2025-06-30"
    assert main([*args, "--out", str(out)]) == 0
    run_dir = out / "pipeline_weekly" / "2025-01-01_2025-06-30"
    page = (run_dir / "pipeline_weekly.html").read_text(encoding="utf-8")
    assert "2 deals rows were rejected at import" in page and "quarantine.parquet" in page
    assert "Pipeline report" in page  # a date range is neither weekly nor monthly
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert run["dataset"]["rejected_at_import"] == {"deals": 2}
    assert run["dataset"]["tables"]["deals"] == 8  # 10 read = 8 loaded + 2 rejected
