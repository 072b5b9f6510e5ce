"""The report registry: every module of :mod:`salesml.reports.catalog` declares one report.

A catalog module ``salesml/reports/catalog/<name>.py`` defines a module-level
``REPORT = ReportSpec(...)``; its notebook is ``notebooks/reports/<name>.ipynb``.
Nothing else lists reports, so adding one means adding those two files.

The notebooks live in the top-level ``notebooks/`` folder of a checkout (editable
installs read them there) and ship inside the wheel as ``salesml/_notebooks/``
(copied at build time by ``setup.py``); :func:`notebooks_dir` finds either.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
import os
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from salesml.i18n import has_label, t
from salesml.periods import Period, PeriodKind
from salesml.reports.params import ParameterError, ReportParams, check_name

if TYPE_CHECKING:
    from salesml.reports.sections import Section

__all__ = [
    "ReportSpec",
    "UnknownReportError",
    "get_report",
    "list_reports",
    "notebook_files",
    "notebooks_dir",
    "reports_table",
]


class UnknownReportError(ParameterError, LookupError):
    """No report of that name is registered."""


#: Environment variable naming another ``notebooks/`` folder (a checkout's, say).
NOTEBOOKS_ENV = "SALESML_NOTEBOOKS"


def notebooks_dir() -> Path:
    """The folder holding ``reports/``, ``apps/`` and ``explore/`` notebooks.

    In order: ``$SALESML_NOTEBOOKS``; ``salesml/_notebooks`` inside an installed wheel;
    the top-level ``notebooks/`` of the checkout the package runs from (source tree,
    editable install).
    """
    env = os.environ.get(NOTEBOOKS_ENV)
    if env:
        return Path(env).expanduser().resolve()
    package = Path(__file__).resolve().parents[1]
    shipped = package / "_notebooks"
    if shipped.is_dir():
        return shipped
    return package.parent / "notebooks"


def notebook_files(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Every notebook under ``root`` (default :func:`notebooks_dir`), sorted.

    Hidden folders are skipped: JupyterLab saves a copy of each notebook a user opens
    in ``.ipynb_checkpoints/``, which is not a notebook of the project.
    """
    base = Path(root) if root is not None else notebooks_dir()
    return sorted(
        p
        for p in base.rglob("*.ipynb")
        if not any(part.startswith(".") for part in p.relative_to(base).parts)
    )


_CALENDAR_KINDS = ("day", "week", "month", "quarter", "year")
_CADENCES: dict[str, PeriodKind] = {
    "_daily": "day",
    "_weekly": "week",
    "_monthly": "month",
    "_quarterly": "quarter",
    "_yearly": "year",
    "_annual": "year",
}


@dataclass(frozen=True)
class ReportSpec:
    """Declaration of one report.

    Parameters
    ----------
    name
        Identifier of the report; also its catalog module, notebook and output folder name.
    params
        Its parameter schema: a frozen dataclass subclassing :class:`ReportParams`.
    description
        One line saying what the report answers (shown by ``salesml report list``).
    tables
        Tables the report needs; the runner refuses a dataset lacking one before executing.
    notebook
        Notebook path relative to ``notebooks/`` (default ``reports/<name>.ipynb``).
    loads
        Tables the report reads (those present are loaded, the rest skipped); empty
        means every table. Naming them keeps a report on a large dataset from
        loading millions of activity rows it never looks at; the dataset
        fingerprint in ``run.json`` covers exactly the tables loaded.
    title_key
        Catalog key of the title (default ``<name>.title``); ``<title_key>.<kind>``
        (``.week``, ``.month``, ``.quarter``...) wins for a period of that kind, so a
        quarterly run is never titled "weekly".
    sections
        The report's sections in order (see :mod:`salesml.reports.sections`); a
        notebook shows them with ``report.section(name)``. Every catalog report
        declares them (the contract test in ``tests/reports`` checks its notebook).
    cadence
        The period kind ``salesml report due`` runs the report for (default: from
        the name's suffix, ``_weekly`` -> ``week``..., else ``month``).
    lookback_days
        Load only the report's period and this many days before it
        (``load_dataset(period=, lookback_days=)``: from a month-partitioned dataset
        only those months are read); ``None`` (the default) loads the whole history.
    columns
        Table -> the only columns the report reads of it (``load_dataset(columns=)``:
        a month-partitioned Parquet table is read with those columns only, plus what
        validation needs); other tables whole. Naming them keeps a report on tier L
        from holding columns of 31M activity rows it never looks at.
    compact
        Load the foreign-key ids and category columns as pandas ``category``
        (``load_dataset(compact=True)``: about half the memory on a big dataset, the
        same values and results); default ``True``.
    """

    name: str
    params: type[ReportParams]
    description: str
    tables: tuple[str, ...] = ()
    notebook: str = ""
    loads: tuple[str, ...] = ()
    title_key: str = field(default="", compare=False)
    sections: tuple[Section, ...] = field(default=(), compare=False)
    cadence: PeriodKind | None = None
    lookback_days: float | None = None
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    compact: bool = True

    def __post_init__(self) -> None:
        check_name(self.name)
        if not (isinstance(self.params, type) and issubclass(self.params, ReportParams)):
            raise TypeError(f"report {self.name!r}: params must subclass ReportParams")
        from salesml.data.schema import TABLE_NAMES

        unknown = sorted((set(self.tables) | set(self.loads)) - set(TABLE_NAMES))
        if unknown:
            raise ValueError(f"report {self.name!r}: unknown table(s) {unknown}")
        if self.columns and not set(self.columns) <= set(self.loads or TABLE_NAMES):
            raise ValueError(f"report {self.name!r}: `columns` names a table it does not load")
        if self.loads and not set(self.tables) <= set(self.loads):
            raise ValueError(f"report {self.name!r}: every table in `tables` must be in `loads`")
        names = [s.name for s in self.sections]
        if len(set(names)) != len(names):
            raise ValueError(f"report {self.name!r}: section names must be unique, got {names}")
        if self.cadence is not None and self.cadence not in _CALENDAR_KINDS:
            raise ValueError(f"report {self.name!r}: cadence must be a calendar kind")
        if self.lookback_days is not None and not 0 <= self.lookback_days <= 36600:
            raise ValueError(f"report {self.name!r}: lookback_days must be 0 to 36600 days")

    @property
    def notebook_path(self) -> Path:
        """Absolute path of the report notebook."""
        return notebooks_dir() / (self.notebook or f"reports/{self.name}.ipynb")

    @property
    def period_kind(self) -> PeriodKind:
        """The kind of period the report is scheduled for (:attr:`cadence` or from its name)."""
        if self.cadence is not None:
            return self.cadence
        for suffix, kind in _CADENCES.items():
            if self.name.endswith(suffix):
                return kind
        return "month"

    def section(self, name: str) -> Section:
        """The section called ``name``.

        Raises
        ------
        KeyError
            Naming the sections the report has.
        """
        for s in self.sections:
            if s.name == name:
                return s
        raise KeyError(
            f"report {self.name!r} has no section {name!r}; it has: "
            f"{', '.join(s.name for s in self.sections) or 'none'}"
        )

    def title(self, lang: str = "en", period: Period | str | None = None) -> str:
        """Report title in ``lang``; for a ``period``, the title of its kind when the catalog has one.

        ``pipeline_weekly`` for ``2026-Q3`` reads "Quarterly pipeline report" /
        "销售漏斗季报" (key ``pipeline_weekly.title.quarter``); without a period, or
        when the catalog has no text for that kind, ``<name>.title``.
        """
        key = self.title_key or f"{self.name}.title"
        if period is not None:
            kind = Period.parse(period).kind
            if has_label(f"{key}.{kind}"):
                return t(f"{key}.{kind}", lang)
        return t(key, lang)


def _discover() -> dict[str, ReportSpec]:
    from salesml.reports import catalog

    found: dict[str, ReportSpec] = {}
    for mod in pkgutil.iter_modules(catalog.__path__):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{catalog.__name__}.{mod.name}")
        spec = getattr(module, "REPORT", None)
        if not isinstance(spec, ReportSpec):
            raise TypeError(
                f"{module.__name__} must define REPORT = ReportSpec(...) (found {spec!r})"
            )
        if spec.name != mod.name:
            raise ValueError(
                f"{module.__name__}: REPORT.name is {spec.name!r}; it must equal the module name"
            )
        found[spec.name] = spec
    return found


def list_reports() -> list[ReportSpec]:
    """Every registered report, sorted by name."""
    return [spec for _, spec in sorted(_discover().items())]


def get_report(name: str) -> ReportSpec:
    """The report called ``name``.

    Raises
    ------
    ParameterError
        If ``name`` is not a safe identifier (``../x``, ``a/b``...).
    UnknownReportError
        If no such report is registered.
    """
    check_name(name)
    reports = _discover()
    if name not in reports:
        raise UnknownReportError(
            f"no report named {name!r}; registered: {', '.join(sorted(reports)) or 'none'}"
        )
    return reports[name]


def reports_table(lang: str = "en") -> pd.DataFrame:
    """One row per report and parameter: name, title, description, parameter, type, default."""
    rows = []
    for spec in list_reports():
        for p in spec.params.describe().itertuples(index=False):
            rows.append(
                {
                    "report": spec.name,
                    "title": spec.title(lang),
                    "description": spec.description,
                    "parameter": p.name,
                    "type": p.type,
                    "required": p.required,
                    "default": p.default,
                }
            )
    return pd.DataFrame(rows)
