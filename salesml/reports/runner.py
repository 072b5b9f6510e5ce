"""Run a report: validate, execute with papermill, export HTML, write lineage, swap in atomically.

Layout of the output folder (``out_dir``, ``reports/`` by default)::

    reports/<name>/<period>/            the last good run
        <name>.ipynb                    executed notebook (with code)
        <name>.html                     self-contained HTML, code hidden, renders offline
        run.json                        parameters, dataset fingerprint, versions, times, status
    reports/<name>/<period>.failed/     the last failed run, if it failed after the last good one
        <name>.ipynb                    executed up to the failing cell (papermill marks it)
        run.json                        status "failed", the failing cell and the error
    reports/index.html, index.zh.html   the landing page: every report, period and variant

``<period>`` is the run folder: the period's slug followed by every parameter that
differs from its default (``2026-Q3__华东__zh__bootstrap-500``), so runs with other
parameters never replace each other.

A run holds a lock per report and run folder from before it executes (a second run
of the same report and period is refused up front, :class:`~salesml.reports.store.ReportBusy`),
executes in a hidden temporary folder next to its destination and is swapped into
place atomically only when everything succeeded, so a failing run never touches the
last good report; leftovers of killed runs are cleaned by the next run
(see :mod:`salesml.reports.store`).
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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from salesml import __version__
from salesml.reports.export import export_html, pop_lineage
from salesml.reports.kernel import KERNEL_NAME, managed_kernel
from salesml.reports.params import ParameterError, ReportParams, allowed_roots, validate_params
from salesml.reports.registry import ReportSpec, get_report
from salesml.reports.store import ReportBusy, clean_stale, lock_path, locked, new_temp_dir, swap_in

__all__ = [
    "ReportBusy",
    "ReportFailed",
    "RunResult",
    "check_dataset_folder",
    "check_scheduler",
    "prepare_params",
    "resolve_out_dir",
    "run_report",
]


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
    cluster
        Where the report's partitioned steps ran (``in-process`` or the Dask
        scheduler and its workers), when the notebook got that far.
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
    cluster: str | None = None

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


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def check_dataset_folder(name: str, dataset: str | os.PathLike[str]) -> Path:
    """The absolute dataset folder, or a one-line :class:`ParameterError` saying what is wrong."""
    folder = Path(dataset).expanduser()
    if not folder.exists():
        raise ParameterError(f"{name}: dataset folder {str(dataset)!r} does not exist")
    if not folder.is_dir():
        raise ParameterError(
            f"{name}: {str(dataset)!r} is a file; --data takes the dataset folder "
            "(the one holding dataset.yaml and the table files)"
        )
    return folder.resolve()


def _read_config(name: str, folder: Path) -> Any:
    from salesml.data.config import DatasetConfig

    try:
        return DatasetConfig.read(folder)
    except (ValueError, TypeError, OSError) as e:
        raise ParameterError(f"{name}: cannot read {folder / 'dataset.yaml'}: {e}") from None


def _check_against_data(name: str, spec: ReportSpec, p: ReportParams) -> None:
    """Refuse, before anything executes, what the dataset cannot answer.

    The report's required tables must be present; a region must occur in the table
    regions come from (customers, or reps with ``region_source: rep``), which must
    itself be present; the period must overlap the data's time span.
    """
    from salesml.data.io import find_table_files, load_dataset
    from salesml.filters import DIMENSIONS, region_column

    folder = Path(p.dataset)
    config = _read_config(name, folder)
    try:
        present = find_table_files(folder, config)
    except FileNotFoundError as e:
        raise ParameterError(f"{name}: {e}") from None
    missing = [t for t in spec.tables if t not in present]
    if missing:
        raise ParameterError(
            f"{name}: the dataset {folder} has no {', '.join(missing)} table(s), which this "
            f"report needs (it has: {', '.join(present) or 'none'})"
        )
    region_table = region_col = None
    if p.region:
        try:
            dim = region_column(getattr(config, "region_source", None))
        except ValueError as e:
            raise ParameterError(f"{name}: dataset.yaml: {e}") from None
        region_table, region_col, _ = DIMENSIONS[dim]
        if region_table not in present:
            raise ParameterError(
                f"{name}: cannot restrict the report to region {p.region!r}: regions come from "
                f"the {region_table} table, which the dataset {folder} does not have"
            )
    probe = sorted({t for t in (region_table, "deals") if t and t in present})
    if not probe:
        return
    try:
        data = load_dataset(folder, tables=probe, validate=False, progress=False)
    except Exception:  # unreadable here: the notebook will report it, cell by cell
        return
    if p.region and region_table in data and region_col in data[region_table]:
        regions = sorted(set(data[region_table][region_col].dropna().astype(str)))
        if p.region not in regions:
            raise ParameterError(
                f"{name}: region {p.region!r} does not occur in the data; "
                f"known regions: {', '.join(regions) or 'none'}"
            )
    if "deals" in data and len(data.deals) and "created_at" in data.deals:
        created = pd.to_datetime(data.deals["created_at"], errors="coerce").dropna()
        period = p.period_value
        if len(created) and (period.start > created.max() or period.end <= created.min()):
            raise ParameterError(
                f"{name}: period {period.label} ({period.start:%Y-%m-%d} to "
                f"{period.last_day:%Y-%m-%d}) lies outside the data, whose deals "
                f"run from {created.min():%Y-%m-%d} to {created.max():%Y-%m-%d}"
            )


def check_scheduler(name: str, scheduler: str | None = None) -> str | None:
    """The Dask scheduler a run is sent to, checked before anything executes.

    ``scheduler`` (``--scheduler tcp://host:8786``), else the environment variable
    ``SALESML_DASK_SCHEDULER``, else ``None`` (the report runs in its kernel's process).
    The address is checked by :func:`salesml.distributed.resolve_client`'s rules and the
    scheduler must answer, so a typo or a stopped cluster is refused in one line
    instead of failing in the notebook.

    Raises
    ------
    ParameterError
        When the address is not a scheduler URL, Dask is not installed or the
        scheduler does not answer.
    """
    from salesml.distributed import ENV_VAR, DaskUnavailable, resolve_client

    address = scheduler if scheduler is not None else os.environ.get(ENV_VAR, "")
    address = address.strip()
    if not address:
        return None
    try:
        resolve_client(scheduler=address)
    except (ValueError, DaskUnavailable) as e:
        where = "--scheduler" if scheduler is not None else ENV_VAR
        raise ParameterError(f"{name}: {where}: {e}") from None
    return address


#: Arrow's allocator for report kernels when the environment names none: jemalloc
#: returns freed Arrow buffers sooner (tier L load: 7.3 GiB peak instead of 8.3).
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def _jemalloc_available() -> bool:
    try:
        import pyarrow as pa

        pa.jemalloc_memory_pool()
    except (ImportError, NotImplementedError):  # pragma: no cover - depends on the build
        return False
    return True


@contextmanager
def _kernel_env(address: str | None) -> Iterator[None]:
    """The report kernel's environment while it starts (it inherits this process's).

    ``SALESML_DASK_SCHEDULER`` is set to ``address`` (when one is named), and
    ``ARROW_DEFAULT_MEMORY_POOL`` to ``jemalloc`` when unset and pyarrow has it; both
    are restored afterwards.
    """
    from salesml.distributed import ENV_VAR

    wanted: dict[str, str] = {}
    if address is not None:
        wanted[ENV_VAR] = address
    if not os.environ.get(ARROW_POOL_ENV) and _jemalloc_available():
        wanted[ARROW_POOL_ENV] = "jemalloc"
    before = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def prepare_params(
    name: str, params: Mapping[str, Any] | ReportParams
) -> tuple[ReportSpec, ReportParams]:
    """Everything checked before a run executes: names, types, values, folder, files, data.

    Returns the report's spec and its parameters with the dataset and every file
    parameter made absolute (papermill executes in the notebook's folder).

    Raises
    ------
    ParameterError
        Naming what is wrong, in one line.
    """
    spec: ReportSpec = get_report(name)
    p = validate_params(spec.params, params, report=name)
    p = p.with_dataset(check_dataset_folder(name, p.dataset))
    p = p.with_checked_files(roots=allowed_roots(p.dataset), report=name)
    _check_against_data(name, spec, p)
    return spec, p


def run_report(
    name: str,
    params: Mapping[str, Any] | ReportParams,
    out_dir: str | os.PathLike[str] = "reports",
    *,
    timeout: float | None = 1800,
    progress: bool = False,
    raise_on_failure: bool = True,
    wait: bool = False,
    index: bool = True,
    scheduler: str | None = None,
) -> RunResult:
    """Run report ``name`` for ``params`` and store it under ``out_dir/NAME/RUN/``.

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
    wait
        When another run of the same report and run folder is in progress, wait for
        it to finish instead of raising :class:`ReportBusy`.
    index
        Rewrite the landing page ``out_dir/index.html`` afterwards.
    scheduler
        A Dask scheduler address (``tcp://host:8786``); default: the environment
        variable ``SALESML_DASK_SCHEDULER``, else none. The report's kernel gets it
        in its environment, so every partitioned step the report calls (they take
        ``client=None`` and call :func:`salesml.distributed.resolve_client`) runs on
        that cluster; the header and ``run.json`` (``cluster``) say where it ran.

    Returns
    -------
    RunResult
        Paths of the notebook, HTML and ``run.json``, the fingerprint and timings.

    Raises
    ------
    ParameterError
        Bad report name, parameter name, type or value, a missing dataset folder,
        a file parameter that cannot be read, an output path leaving the reports
        folder, or a scheduler address that is wrong or does not answer -- all
        before execution.
    ReportBusy
        Another run of this report and run folder holds its lock (before execution).
    ReportFailed
        The notebook raised; the failed run is saved in ``NAME/RUN.failed/``
        and the last good report is untouched.
    """
    spec, p = prepare_params(name, params)
    address = check_scheduler(name, scheduler)
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
    what = f"report {name!r} for {slug}"
    with locked(lock_path(root, f"{name}/{slug}"), wait=wait, what=what):
        clean_stale(report_dir, root, held=slug)
        with _kernel_env(address):
            result = _execute(spec, p, nb_path, report_dir, final, failed_dir, timeout, progress)
    if index:
        from salesml.reports.index import write_index

        write_index(root)
    if not result.ok and raise_on_failure:
        raise ReportFailed(result)
    return result


def _execute(
    spec: ReportSpec,
    p: ReportParams,
    nb_path: Path,
    report_dir: Path,
    final: Path,
    failed_dir: Path,
    timeout: float | None,
    progress: bool,
) -> RunResult:
    """Execute, export and swap in one run (the caller holds its lock)."""
    name = spec.name
    period = p.period_value
    tmp = new_temp_dir(final)
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
        title = lineage.get("title") or {lang: spec.title(lang, period) for lang in ("en", "zh")}
        run: dict[str, Any] = {
            "report": name,
            "title": title,
            "period": period.slug,
            "period_label": period.label,
            "period_kind": period.kind,
            "period_start": f"{period.start:%Y-%m-%d}",
            "period_end": f"{period.last_day:%Y-%m-%d}",
            "variant": p.variant_slug,
            "parameters": p.to_dict(),
            "dataset_fingerprint": lineage.get("fingerprint"),
            "fingerprint_covers": lineage.get("fingerprint_covers"),
            "dataset": lineage.get("dataset"),
            "cluster": lineage.get("cluster"),
            "salesml_version": __version__,
            "python": platform.python_version(),
            "executable": sys.executable,
            "started": started,
            "status": "failed" if error else "ok",
        }
        target = failed_dir if error else final
        if error is None:
            assert nb is not None
            t1 = time.perf_counter()
            page_title = f"{title.get(p.lang, name)} · {period.display(p.lang)}"
            export_html(nb, tmp / f"{name}.html", title=page_title)
            timings["export"] = time.perf_counter() - t1
        else:
            run["error"] = error
        run["ended"] = _now()
        run["seconds"] = round(time.perf_counter() - t0, 3)
        run["timings"] = {k: round(v, 3) for k, v in timings.items()}
        _write_json(tmp / "run.json", run)
        swap_in(tmp, target)
        if error is None:
            shutil.rmtree(failed_dir, ignore_errors=True)  # a stale failure no longer applies
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return RunResult(
        name=name,
        period=period.slug,
        status=run["status"],
        folder=target,
        notebook=target / out_nb.name,
        html=None if error else target / f"{name}.html",
        run_json=target / "run.json",
        params=p.to_dict(),
        fingerprint=lineage.get("fingerprint"),
        seconds=run["seconds"],
        timings=timings,
        error=error,
        cluster=lineage.get("cluster"),
    )
