"""Scheduled runs: every report whose period has closed since its last good run.

``salesml report due --data D`` (and :func:`run_due`) is the one job a scheduler
calls, however many reports there are:

- each registered report has a cadence (``ReportSpec.period_kind``: ``week`` for
  ``pipeline_weekly``, ``month`` for ``cac_monthly``...);
- a period is *due* when it has closed (by ``as_of``, default now), the data reaches
  its last day, and the report has no good run for it: the periods after the last
  good run are run oldest first, so missed periods are caught up (at most
  ``max_catch_up`` per report and call); a report that never ran starts with the
  last closed period (or at ``since``);
- running it again does nothing new (idempotent); a failed period stops that
  report's catching up until it succeeds, so no period is skipped over;
- one scheduler at a time: a second call while one runs does nothing
  (:class:`~salesml.reports.store.ReportBusy`), and each run holds its own report lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from salesml.periods import Period, last_complete_period
from salesml.reports.params import ParameterError, parse_cli_value, validate_params
from salesml.reports.registry import ReportSpec, get_report, list_reports
from salesml.reports.store import ReportBusy, lock_path, locked

__all__ = ["DueOutcome", "data_end", "due_periods", "last_closed", "run_due"]

#: Tables and columns whose latest value dates the end of a dataset.
END_COLUMNS: tuple[tuple[str, str], ...] = (
    ("deals", "created_at"),
    ("deals", "closed_at"),
    ("leads", "created_at"),
    ("activities", "occurred_at"),
)


def data_end(data: Any) -> pd.Timestamp:
    """The latest event of a dataset (a :class:`SalesData` or a dataset folder).

    From a folder only deals and leads are read (activities can be tens of millions of rows).

    Raises
    ------
    ValueError
        When the dataset has no dated deals, leads or activities.
    """
    if isinstance(data, str | os.PathLike):
        from salesml.data.io import find_table_files, load_dataset

        present = find_table_files(data)
        tables = [t for t in ("deals", "leads") if t in present]
        data = load_dataset(data, tables=tables, validate=False, progress=False)
    ends = []
    for table, col in END_COLUMNS:
        if data.has(table) and col in data[table] and len(data[table]):
            ends.append(pd.to_datetime(data[table][col], errors="coerce").max())
    ends = [e for e in ends if pd.notna(e)]
    if not ends:
        raise ValueError("the dataset has no dated deals, activities or leads")
    end = max(ends)
    return end.tz_localize(None) if end.tzinfo is not None else end


def last_closed(kind: str, as_of: pd.Timestamp) -> Period:
    """The latest period of ``kind`` that ended at or before ``as_of``."""
    if kind == "day":
        return Period.parse(f"{as_of.normalize() - pd.Timedelta(days=1):%Y-%m-%d}")
    return Period.parse(last_complete_period(kind, as_of=as_of))  # type: ignore[arg-type]


def _good_periods(root: Path, spec: ReportSpec, variant: str) -> list[Period]:
    """Periods of ``spec.period_kind`` with a good run of this variant in ``root``."""
    from salesml.reports.index import list_runs

    kind = spec.period_kind
    out = []
    for r in list_runs(root):
        if r.report != spec.name or r.status != "ok" or r.variant != variant:
            continue
        try:
            p = Period.parse(r.period)
        except ValueError:
            continue
        if p.kind == kind:
            out.append(p)
    return sorted(set(out), key=lambda p: p.start)


def due_periods(
    spec: ReportSpec,
    good: Iterable[Period],
    *,
    as_of: pd.Timestamp,
    since: Period | None = None,
    max_catch_up: int = 12,
) -> list[Period]:
    """The periods of ``spec`` to run, oldest first.

    Parameters
    ----------
    spec
        The report (its ``period_kind`` is the cadence).
    good
        Periods that already have a good run.
    as_of
        The clock: periods that ended by then have closed.
    since
        For a report that never ran, the first period to run (default: only the
        last closed one). Ignored once a good run exists.
    max_catch_up
        Periods returned at most (the oldest first).
    """
    kind = spec.period_kind
    closed = last_closed(kind, as_of)
    good = list(good)
    if good:
        p = max(good, key=lambda g: g.start).next()
    elif since is not None:
        p = since if since.kind == kind else last_closed(kind, since.start).next()
    else:
        p = closed
    out: list[Period] = []
    while p.start <= closed.start and len(out) < max_catch_up:
        out.append(p)
        p = p.next()
    return out


@dataclass(frozen=True)
class DueOutcome:
    """What ``report due`` did with one report and period.

    ``status`` is ``ok``, ``failed`` (the notebook raised), ``refused`` (the
    parameters or the data refused it before execution), ``busy`` (another run holds
    its lock) or ``waiting`` (the period has closed but the data does not reach its
    last day yet).
    """

    report: str
    period: str
    status: str
    detail: str = ""
    html: Path | None = None


def _params_for(
    spec: ReportSpec, base: Mapping[str, Any], extra: Mapping[str, str]
) -> dict[str, Any]:
    names = set(spec.params.names())
    values = {k: v for k, v in base.items() if v is not None}
    for key, text in extra.items():
        if key in names:
            values[key] = parse_cli_value(spec.params, key, text)
    return values


def run_due(
    dataset: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] = "reports",
    *,
    as_of: str | pd.Timestamp | None = None,
    reports: Iterable[str] | None = None,
    lang: str | None = None,
    region: str | None = None,
    params: Mapping[str, str] | None = None,
    since: str | None = None,
    max_catch_up: int = 12,
    timeout: float | None = 1800,
    echo: Any = None,
    scheduler: str | None = None,
) -> list[DueOutcome]:
    """Run every due period of every (selected) report; see the module docstring.

    Parameters
    ----------
    dataset
        The dataset folder.
    out_dir
        The reports folder (where the last good runs are looked up and new ones go).
    as_of
        The clock (default: now).
    reports
        Report names (default: every registered report).
    lang, region
        Passed to every report (``None``: the report's default).
    params
        More ``name -> text`` parameters, given to the reports whose schema has them.
    since
        First period for a report that never ran (``2026-Q1``); default the last closed.
    max_catch_up
        At most this many periods per report per call.
    timeout
        Per-cell timeout of each run.
    echo
        ``echo(outcome)`` is called after each period (the command line prints it).
    scheduler
        A Dask scheduler address every run is sent to (default: the environment
        variable ``SALESML_DASK_SCHEDULER``); see :func:`~salesml.reports.run_report`.

    Returns
    -------
    list of DueOutcome

    Raises
    ------
    ReportBusy
        Another ``report due`` on the same reports folder is running.
    ParameterError
        Unknown report names or parameters, a bad ``since``, or a dataset that is not
        a folder -- before anything runs.
    """
    from salesml.reports.index import write_index
    from salesml.reports.runner import (
        ReportFailed,
        check_dataset_folder,
        check_scheduler,
        resolve_out_dir,
        run_report,
    )

    root = resolve_out_dir(out_dir)
    folder = check_dataset_folder("report due", dataset)
    address = check_scheduler("report due", scheduler)
    clock = pd.Timestamp.now() if as_of is None else pd.Timestamp(as_of)
    if clock.tzinfo is not None:
        clock = clock.tz_localize(None)
    if not 1 <= max_catch_up <= 1000:
        raise ParameterError("max_catch_up must be between 1 and 1000")
    try:
        first = Period.parse(since) if since else None
    except ValueError as e:
        raise ParameterError(f"--since: {e}") from None
    specs = [get_report(n) for n in reports] if reports else list_reports()
    extra = dict(params or {})
    unknown = [k for k in extra if not any(k in s.params.names() for s in specs)]
    if unknown:
        raise ParameterError(
            f"report due: no selected report takes parameter(s) {', '.join(unknown)}"
        )
    try:
        end = data_end(folder)
    except ValueError as e:
        raise ParameterError(f"report due: {folder}: {e}") from None
    base = {"dataset": str(folder), "lang": lang, "region": region}
    outcomes: list[DueOutcome] = []

    def note(o: DueOutcome) -> None:
        outcomes.append(o)
        if echo is not None:
            echo(o)

    root.mkdir(parents=True, exist_ok=True)
    with locked(lock_path(root, "due"), wait=False, what=f"salesml report due on {root}"):
        for spec in specs:
            values = _params_for(spec, base, extra)
            probe = {**values, "period": last_closed(spec.period_kind, clock).label}
            try:
                variant = validate_params(spec.params, probe, report=spec.name).variant_slug
            except ParameterError as e:
                note(DueOutcome(spec.name, probe["period"], "refused", str(e)))
                continue
            periods = due_periods(
                spec,
                _good_periods(root, spec, variant),
                as_of=clock,
                since=first,
                max_catch_up=max_catch_up,
            )
            for period in periods:
                if period.last_day > end.normalize():
                    note(
                        DueOutcome(
                            spec.name,
                            period.label,
                            "waiting",
                            f"the data ends on {end:%Y-%m-%d}, before the period's last day",
                        )
                    )
                    break
                try:
                    r = run_report(
                        spec.name,
                        {**values, "period": period.label},
                        root,
                        timeout=timeout,
                        raise_on_failure=True,
                        index=False,
                        scheduler=address,
                    )
                except ReportFailed as e:
                    note(DueOutcome(spec.name, period.label, "failed", str(e)))
                    break
                except ReportBusy as e:
                    note(DueOutcome(spec.name, period.label, "busy", str(e)))
                    break
                except ParameterError as e:
                    note(DueOutcome(spec.name, period.label, "refused", str(e)))
                    break
                note(DueOutcome(spec.name, period.label, "ok", f"{r.seconds:.0f}s", r.html))
        write_index(root)
    return outcomes
