"""``salesml demo``: demo data if missing, every registered report for the last full quarter,
then the path of the landing page ``reports/index.html``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pandas as pd

__all__ = ["ensure_demo_data", "latest_complete", "latest_complete_month", "run_demo"]


def ensure_demo_data(folder: str | os.PathLike[str] = "datasets/demo", *, seed: int = 0) -> Path:
    """Generate the demo dataset (simulator preset ``demo``) into ``folder`` unless it is there.

    Returns
    -------
    Path
        The dataset folder.
    """
    from salesml.data.io import save_dataset
    from salesml.simulator import simulate

    path = Path(folder)
    if (path / "dataset.yaml").exists():
        return path
    t0 = time.perf_counter()
    print(f"generating demo data into {path} ...", flush=True)
    data, _ = simulate(preset="demo", seed=seed)
    save_dataset(data, path)
    print(f"  {data!r} in {time.perf_counter() - t0:.1f}s", flush=True)
    return path


def latest_complete_month(data: object) -> str:
    """The last calendar month fully covered by ``data`` (a :class:`SalesData`)."""
    return latest_complete(data, "month")


def latest_complete(data: object, kind: str = "month") -> str:
    """The last period of ``kind`` (``month``, ``quarter``, ...) fully covered by ``data``.

    The data's last event (:func:`salesml.reports.schedule.data_end`) dates its end; a
    period counts as complete when that end falls on or after the period's last day.
    """
    from salesml.reports.schedule import data_end, last_closed

    end = data_end(data)
    return last_closed(kind, end.normalize() + pd.Timedelta(days=1)).label


def run_demo(
    data_dir: str | os.PathLike[str] = "datasets/demo",
    out_dir: str | os.PathLike[str] = "reports",
    *,
    lang: str = "en",
) -> int:
    """Generate the demo data if missing and run every registered report on it.

    The period is the last complete quarter of the data (deals created in it have
    mostly closed, so funnels and CAC say something). Prints the path of each
    report's HTML and, last, of the landing page listing every run.

    Returns
    -------
    int
        The exit code: 0 when every report succeeded, 1 otherwise.
    """
    from salesml.reports import ReportFailed, list_reports, run_report
    from salesml.reports.index import write_index
    from salesml.reports.runner import resolve_out_dir

    path = ensure_demo_data(data_dir)
    period = latest_complete(path, "quarter")
    print(f"running reports for {period} on {path}", flush=True)
    failed = 0
    for spec in list_reports():
        params = {"dataset": str(path), "period": period, "lang": lang}
        try:
            result = run_report(spec.name, params, out_dir, index=False)
        except ReportFailed as e:
            failed += 1
            print(f"  {spec.name}: FAILED\n{e}", file=sys.stderr, flush=True)
            continue
        print(f"  {spec.name}: {result.html}  ({result.seconds:.1f}s)", flush=True)
    index = write_index(resolve_out_dir(out_dir))
    print("`salesml serve` starts the dashboards; every report run is listed in:", flush=True)
    print(f"  {index}", flush=True)
    return 1 if failed else 0
