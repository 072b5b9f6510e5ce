"""``salesml report run --scheduler`` / ``SALESML_DASK_SCHEDULER``: a report on a Dask cluster.

Run with ``-n 0`` (the ``dask_client`` fixture starts a LocalCluster of 2 worker
processes once per session).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from salesml.cli import main
from salesml.demo import latest_complete_month
from salesml.distributed import ENV_VAR
from salesml.reports import registry
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.runner import run_report


@dataclass(frozen=True)
class WhereParams(ReportParams):
    """The base parameters only."""


@pytest.fixture
def where_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReportSpec:
    """A report whose one step is a partitioned step as they are written
    (``map_pieces(..., client=resolve_client(client))`` with ``client=None``): it
    prints where each piece ran."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.append(nbformat.v4.new_code_cell("import json"))
    cell = nbformat.v4.new_code_cell(
        'dataset = "x"\nperiod = "2026-01"\nregion = None\nlang = "en"'
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "from salesml.distributed import map_pieces, resolve_client\n"
            "def where(piece):\n"
            "    try:\n"
            "        from distributed import get_worker\n"
            "        return [piece, get_worker().address]\n"
            "    except (ImportError, ValueError):\n"
            "        return [piece, 'here']\n"
            "client = resolve_client(None)  # what every partitioned step does\n"
            "print('WHERE' + json.dumps(map_pieces(where, [1, 2, 3, 4], client=client)))"
        )
    )
    path = tmp_path / "where_test.ipynb"
    nbformat.write(nb, path)
    spec = ReportSpec(
        name="where_test", params=WhereParams, description="test report", notebook=str(path)
    )
    real = registry._discover
    monkeypatch.setattr(registry, "_discover", lambda: {**real(), "where_test": spec})
    return spec


@pytest.fixture(scope="module")
def period(tiny_dataset: Path) -> str:
    from salesml.data.io import load_dataset

    return latest_complete_month(load_dataset(tiny_dataset, progress=False))


def _printed_where(notebook: Path) -> list[list[Any]]:
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            if text.startswith("WHERE"):
                return json.loads(text[5:])
    raise AssertionError("the notebook printed no WHERE line")


def test_env_var_sends_the_kernels_steps_to_the_cluster(
    where_report: ReportSpec,
    tiny_dataset: Path,
    period: str,
    tmp_path: Path,
    dask_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workers = set(dask_client.scheduler_info()["workers"])
    # without a scheduler the pieces run in the kernel itself
    monkeypatch.delenv(ENV_VAR, raising=False)
    here = run_report(
        "where_test", {"dataset": str(tiny_dataset), "period": period}, tmp_path / "a", index=False
    )
    assert _printed_where(here.notebook) == [[1, "here"], [2, "here"], [3, "here"], [4, "here"]]
    # the environment variable alone: every piece runs on one of the cluster's workers
    monkeypatch.setenv(ENV_VAR, dask_client.scheduler.address)
    there = run_report(
        "where_test", {"dataset": str(tiny_dataset), "period": period}, tmp_path / "b", index=False
    )
    got = _printed_where(there.notebook)
    assert [p for p, _ in got] == [1, 2, 3, 4]  # in order
    assert {w for _, w in got} <= workers and all(w != "here" for _, w in got)


def test_cli_scheduler_runs_report_and_records_where(
    tiny_dataset: Path,
    tmp_path: Path,
    dask_client: Any,
    period: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    address = dask_client.scheduler.address
    out = tmp_path / "reports"
    args = ["report", "run", "compliance_weekly", "--data", str(tiny_dataset)]
    assert main([*args, "--period", period, "--out", str(out), "--scheduler", address]) == 0
    assert f"ran on   {address} (2 workers, 2 threads)" in capsys.readouterr().out
    folder = out / "compliance_weekly" / period
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["cluster"] == f"{address} (2 workers, 2 threads)"
    page = (folder / "compliance_weekly.html").read_text(encoding="utf-8")
    assert f"Computed on: {address} (2 workers, 2 threads)." in page
    # the variable was set for the kernel only, not left behind in this process
    assert ENV_VAR not in os.environ


def test_in_process_run_says_so(
    tiny_dataset: Path, period: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    r = run_report(
        "compliance_weekly", {"dataset": str(tiny_dataset), "period": period}, tmp_path, index=False
    )
    assert r.cluster == "in-process"
    assert json.loads(r.run_json.read_text())["cluster"] == "in-process"
    assert "this process (no Dask cluster)" in r.html.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "address", ["http://127.0.0.1:8786", "127.0.0.1:8786", "tcp://host;rm -rf", "tcp://"]
)
def test_bad_scheduler_is_refused_before_running(
    tiny_dataset: Path,
    tmp_path: Path,
    period: str,
    address: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    args = ["report", "run", "compliance_weekly", "--data", str(tiny_dataset), "--period"]
    code = main([*args, period, "--out", str(tmp_path), "--scheduler", address])
    err = capsys.readouterr().err
    assert code == 2
    assert "--scheduler" in err and "tcp://host:port" in err
    assert not (tmp_path / "compliance_weekly").exists()  # nothing executed


def test_bad_env_var_is_refused_naming_it(
    tiny_dataset: Path,
    tmp_path: Path,
    period: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, "localhost:8786")
    args = ["report", "run", "compliance_weekly", "--data", str(tiny_dataset), "--period"]
    assert main([*args, period, "--out", str(tmp_path)]) == 2
    assert ENV_VAR in capsys.readouterr().err
