"""Run a report: validate, execute with papermill, export HTML, write lineage, swap in atomically.

Layout of the output folder (``out_dir``, ``reports/`` by default)::

    reports/<name>/<period>/            the last good run
        <name>.ipynb                    executed notebook (with code)
        <name>.html                     self-contained HTML, code hidden, renders offline
        run.json                        parameters, dataset fingerprint, versions, times, status
    reports/<name>/<period>.failed/     the last failed run, if it failed after the last good one
        <name>.ipynb                    executed up to the failing cell (papermill marks it)
        run.json                        status "failed", the failing cell and the error

A run executes in a hidden temporary folder next to its destination and is
renamed into place only when everything succeeded, so a failing run never
touches the last good report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from salesml import __version__
from salesml.reports.export import export_html, pop_lineage
from salesml.reports.kernel import KERNEL_NAME, managed_kernel
from salesml.reports.params import ParameterError, ReportParams, validate_params
from salesml.reports.registry import ReportSpec, get_report

__all__ = ["ReportFailed", "RunResult", "resolve_out_dir", "run_report"]


@dataclass
class RunResult:
    """What one report run produced.

    Attributes
    ----------
    name, period
        Report name and period folder name.
    status
        ``"ok"`` or ``"failed"``.
    folder
        Final folder of the run (``reports/NAME/PERIOD`` or ``.../PERIOD.failed``).
    notebook, html, run_json
        Paths of the executed notebook, the HTML (``None`` when failed) and ``run.json``.
    params
        The validated parameters.
    fingerprint
        Dataset fingerprint (``SalesData.fingerprint()``) when the notebook got that far.
    seconds
        Wall time of the run (execution + export).
    error
        For failed runs: ``cell_index``, ``exec_count``, ``ename``, ``evalue``, ``source``.
    """

    name: str
    period: str
    status: str
    folder: Path
    notebook: Path
    html: Path | None
    run_json: Path
    params: dict[str, Any]
    fingerprint: str | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Whether the run succeeded."""
        return self.status == "ok"

    def describe_error(self) -> str:
        """One paragraph saying which cell failed and why (empty when the run succeeded)."""
        if not self.error:
            return ""
        e = self.error
        where = (
            f"cell {e['cell_index']} (In [{e.get('exec_count')}])"
            if e.get("cell_index") is not None
            else "before any cell ran"
        )
        src = (e.get("source") or "").strip().splitlines()
        shown = f"\n    {src[0]}" + (" ..." if len(src) > 1 else "") if src else ""
        return (
            f"report {self.name!r} for {self.period} failed at {where}:{shown}\n"
            f"  {e.get('ename')}: {e.get('evalue')}\n"
            f"  the failed notebook is saved in {self.folder}"
        )


class ReportFailed(RuntimeError):
    """A report notebook raised; ``.result`` holds the failed :class:`RunResult`."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.describe_error())
        self.result = result


def resolve_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    """The absolute reports folder; a path with ``..`` components is refused.

    Raises
    ------
    ParameterError
        If ``out_dir`` contains ``..`` (it could climb out of the reports folder).
    """
    p = Path(out_dir)
    if ".." in p.parts:
        raise ParameterError(
            f"output folder {str(out_dir)!r} contains '..'; give a path without parent references"
        )
    return p.resolve()


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def _write_json(path: Path, payload: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp`` (renames; the old folder is removed afterwards)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def _check_against_data(name: str, spec: ReportSpec, p: Any) -> None:
    """Refuse, before anything executes, what the dataset cannot answer.

    The report's required tables must be present, the region must be one the data
    knows and the period must overlap the data's time span.
    """
    from salesml.data.config import DatasetConfig
    from salesml.data.io import find_table_files, load_dataset

    folder = Path(p.dataset)
    present = find_table_files(folder, DatasetConfig.read(folder))
    missing = [t for t in spec.tables if t not in present]
    if missing:
        raise ParameterError(
            f"{name}: the dataset {folder} has no {', '.join(missing)} table(s), which this "
            f"report needs (it has: {', '.join(present) or 'none'})"
        )
    probe = [t for t in ("customers", "deals") if t in present]
    if not probe:
        return
    try:
        data = load_dataset(folder, tables=probe, validate=False, progress=False)
    except Exception:  # unreadable here: the notebook will report it, cell by cell
        return
    if p.region and "customers" in probe and "region" in data.customers:
        regions = sorted(set(data.customers["region"].dropna().astype(str)))
        if p.region not in regions:
            raise ParameterError(
                f"{name}: region {p.region!r} does not occur in the data; "
                f"known regions: {', '.join(regions)}"
            )
    if "deals" in probe and len(data.deals) and "created_at" in data.deals:
        created = pd.to_datetime(data.deals["created_at"], errors="coerce").dropna()
        start, end = p.period_bounds
        if len(created) and (start > created.max() or end <= created.min()):
            raise ParameterError(
                f"{name}: period {p.period} ({start:%Y-%m-%d} to "
                f"{end - pd.Timedelta(days=1):%Y-%m-%d}) lies outside the data, whose deals "
                f"run from {created.min():%Y-%m-%d} to {created.max():%Y-%m-%d}"
            )


def run_report(
    name: str,
    params: Mapping[str, Any] | ReportParams,
    out_dir: str | os.PathLike[str] = "reports",
    *,
    timeout: float | None = 1800,
    progress: bool = False,
    raise_on_failure: bool = True,
) -> RunResult:
    """Run report ``name`` for ``params`` and store it under ``out_dir/NAME/PERIOD/``.

    Parameters
    ----------
    name
        A registered report (see :func:`salesml.reports.list_reports`).
    params
        Parameter mapping (checked by name and type against the report's schema
        before anything executes) or an instance of the schema.
    out_dir
        The reports folder. Runs never write outside it.
    timeout
        Per-cell execution timeout in seconds (``None``: no limit).
    progress
        Show papermill's progress bar.
    raise_on_failure
        Raise :class:`ReportFailed` when the notebook fails (default); otherwise
        return the failed :class:`RunResult`.

    Returns
    -------
    RunResult
        Paths of the notebook, HTML and ``run.json``, the fingerprint and timings.

    Raises
    ------
    ParameterError
        Bad report name, parameter name, type or value, a missing dataset folder,
        or an output path leaving the reports folder -- all before execution.
    ReportFailed
        The notebook raised; the failed run is saved in ``NAME/PERIOD.failed/``
        and the last good report is untouched.
    """
    spec: ReportSpec = get_report(name)
    p = validate_params(spec.params, params, report=name)
    dataset = Path(p.dataset).expanduser()
    if not dataset.exists():
        raise ParameterError(f"{name}: dataset folder {p.dataset!r} does not exist")
    p = p.with_dataset(dataset.resolve())
    _check_against_data(name, spec, p)
    root = resolve_out_dir(out_dir)
    slug = p.run_slug
    report_dir = root / name
    final = report_dir / slug
    failed_dir = report_dir / f"{slug}.failed"
    for target in (final, failed_dir):
        if not _inside(target, root):  # pragma: no cover - names and slugs are checked
            raise ParameterError(f"{name}: output {target} would leave {root}")
    nb_path = spec.notebook_path
    if not nb_path.exists():
        raise FileNotFoundError(
            f"report {name!r}: notebook {nb_path} not found (set SALESML_NOTEBOOKS to the "
            "notebooks/ folder of a salesml checkout)"
        )

    report_dir.mkdir(parents=True, exist_ok=True)
    tmp = report_dir / f".{slug}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    out_nb = tmp / f"{name}.ipynb"
    started = _now()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    error: dict[str, Any] | None = None
    try:
        import nbformat
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        try:
            with managed_kernel() as km:
                pm.execute_notebook(
                    str(nb_path),
                    str(out_nb),
                    parameters=p.to_dict(),
                    kernel_name=KERNEL_NAME,
                    language="python",
                    km=km,
                    progress_bar=progress,
                    execution_timeout=timeout,
                    cwd=str(nb_path.parent),
                )
        except PapermillExecutionError as e:
            error = {
                "cell_index": e.cell_index,
                "exec_count": e.exec_count,
                "ename": e.ename,
                "evalue": e.evalue,
                "source": e.source,
            }
        except Exception as e:  # kernel death, timeout...: still a failed run
            error = {
                "cell_index": None,
                "exec_count": None,
                "ename": type(e).__name__,
                "evalue": str(e),
                "source": "",
            }
        timings["execute"] = time.perf_counter() - t0

        nb = nbformat.read(out_nb, as_version=4) if out_nb.exists() else None
        lineage = pop_lineage(nb) if nb is not None else {}
        run = {
            "report": name,
            "title": {lang: spec.title(lang) for lang in ("en", "zh")},
            "period": p.period_slug,
            "parameters": p.to_dict(),
            "dataset_fingerprint": lineage.get("fingerprint"),
            "dataset": lineage.get("dataset"),
            "salesml_version": __version__,
            "python": platform.python_version(),
            "executable": sys.executable,
            "started": started,
            "status": "failed" if error else "ok",
        }
        if error is not None:
            run["error"] = error
            run["ended"] = _now()
            run["seconds"] = round(time.perf_counter() - t0, 3)
            _write_json(tmp / "run.json", run)
            _swap_in(tmp, failed_dir)
            result = RunResult(
                name=name,
                period=p.period_slug,
                status="failed",
                folder=failed_dir,
                notebook=failed_dir / out_nb.name,
                html=None,
                run_json=failed_dir / "run.json",
                params=p.to_dict(),
                fingerprint=lineage.get("fingerprint"),
                seconds=run["seconds"],
                timings=timings,
                error=error,
            )
            if raise_on_failure:
                raise ReportFailed(result)
            return result

        assert nb is not None
        t1 = time.perf_counter()
        html_path = tmp / f"{name}.html"
        export_html(nb, html_path, title=f"{spec.title(p.lang)} · {slug}")
        timings["export"] = time.perf_counter() - t1
        run["ended"] = _now()
        run["seconds"] = round(time.perf_counter() - t0, 3)
        run["timings"] = {k: round(v, 3) for k, v in timings.items()}
        _write_json(tmp / "run.json", run)
        _swap_in(tmp, final)
        shutil.rmtree(failed_dir, ignore_errors=True)  # a stale failure no longer applies
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return RunResult(
        name=name,
        period=p.period_slug,
        status="ok",
        folder=final,
        notebook=final / out_nb.name,
        html=final / html_path.name,
        run_json=final / "run.json",
        params=p.to_dict(),
        fingerprint=lineage.get("fingerprint"),
        seconds=run["seconds"],
        timings=timings,
    )
