"""``salesml demo``: demo data if missing, then every registered report for the last full month."""

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

    The data's last event dates its end; a period counts as complete when that
    end falls on the period's last day.
    """
    from salesml.periods import last_complete_period

    ends = []
    for table, col in (
        ("deals", "created_at"),
        ("activities", "occurred_at"),
        ("leads", "created_at"),
    ):
        if data.has(table) and col in data[table] and len(data[table]):  # type: ignore[attr-defined]
            ends.append(data[table][col].max())  # type: ignore[index]
    ends = [e for e in ends if pd.notna(e)]
    if not ends:
        raise ValueError("the dataset has no dated deals, activities or leads")
    end = max(ends)
    return last_complete_period(kind, as_of=end.normalize() + pd.Timedelta(days=1))


def run_demo(
    data_dir: str | os.PathLike[str] = "datasets/demo",
    out_dir: str | os.PathLike[str] = "reports",
    *,
    lang: str = "en",
) -> int:
    """Generate the demo data if missing and run every registered report on it.

    The period is the last complete quarter of the data.

    Prints the path of each report's HTML. Returns the exit code: 0 when every
    report succeeded, 1 otherwise.
    """
    from salesml.data.io import load_dataset
    from salesml.reports import ReportFailed, list_reports, run_report

    path = ensure_demo_data(data_dir)
    # a quarter: deals created in it have mostly closed, so funnels and CAC say something
    period = latest_complete(load_dataset(path), "quarter")
    print(f"running reports for {period} on {path}", flush=True)
    failed = 0
    for spec in list_reports():
        params = {"dataset": str(path), "period": period, "lang": lang}
        try:
            result = run_report(spec.name, params, out_dir)
        except ReportFailed as e:
            failed += 1
            print(f"  {spec.name}: FAILED\n{e}", file=sys.stderr, flush=True)
            continue
        print(f"  {spec.name}: {result.html}  ({result.seconds:.1f}s)", flush=True)
    print("open the HTML files in a browser; `salesml serve` starts the dashboards", flush=True)
    return 1 if failed else 0
