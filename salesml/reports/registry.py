"""The report registry: every module of :mod:`salesml.reports.catalog` declares one report.

A catalog module ``salesml/reports/catalog/<name>.py`` defines a module-level
``REPORT = ReportSpec(...)``; its notebook is ``notebooks/reports/<name>.ipynb``.
Nothing else lists reports, so adding one means adding those two files.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from salesml.i18n import t
from salesml.reports.params import ParameterError, ReportParams, check_name

__all__ = [
    "ReportSpec",
    "UnknownReportError",
    "get_report",
    "list_reports",
    "notebooks_dir",
    "reports_table",
]


class UnknownReportError(ParameterError, LookupError):
    """No report of that name is registered."""


def notebooks_dir() -> Path:
    """The ``notebooks/`` folder: ``$SALESML_NOTEBOOKS`` or the one next to the package."""
    env = os.environ.get("SALESML_NOTEBOOKS")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2] / "notebooks"


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
    """

    name: str
    params: type[ReportParams]
    description: str
    tables: tuple[str, ...] = ()
    notebook: str = ""
    loads: tuple[str, ...] = ()
    title_key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        if not (isinstance(self.params, type) and issubclass(self.params, ReportParams)):
            raise TypeError(f"report {self.name!r}: params must subclass ReportParams")
        from salesml.data.schema import TABLE_NAMES

        unknown = sorted((set(self.tables) | set(self.loads)) - set(TABLE_NAMES))
        if unknown:
            raise ValueError(f"report {self.name!r}: unknown table(s) {unknown}")
        if self.loads and not set(self.tables) <= set(self.loads):
            raise ValueError(f"report {self.name!r}: every table in `tables` must be in `loads`")

    @property
    def notebook_path(self) -> Path:
        """Absolute path of the report notebook."""
        return notebooks_dir() / (self.notebook or f"reports/{self.name}.ipynb")

    def title(self, lang: str = "en") -> str:
        """Report title in ``lang`` (message ``<name>.title``)."""
        return t(self.title_key or f"{self.name}.title", lang)


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
