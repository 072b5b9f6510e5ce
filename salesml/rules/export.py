"""Task lists for managers: the open follow-ups as a CSV or Excel file, formula-safe.

Text typed into a CRM (a customer name ``=HYPERLINK(...)``) ends up in reasons and
scripts; every text cell goes through :func:`salesml.data.csvsafe.safe_csv_frame`, so a
spreadsheet shows it as text instead of running it. Column headers are the catalog's
names in the chosen language; values such as priorities and task kinds are translated.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from salesml.data.csvsafe import safe_csv_frame
from salesml.i18n import check_lang, label

__all__ = ["EXPORT_COLUMNS", "export_tasks", "task_sheet"]

#: Columns of the exported sheet, in order (overdue first, then by owner).
EXPORT_COLUMNS: tuple[str, ...] = (
    "owner_name",
    "owner_id",
    "priority",
    "kind",
    "rule_id",
    "subject_id",
    "customer_id",
    "region",
    "due_at",
    "overdue_hours",
    "reason",
    "script",
    "task_id",
)
_TRANSLATED = ("priority", "kind", "rule_id")


def task_sheet(tasks: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """The open tasks as a manager's sheet: overdue first, headers and values in ``lang``.

    Parameters
    ----------
    tasks
        Rows of :attr:`salesml.rules.followups.FollowupResult.table` (a ``status`` column,
        if present, keeps the open ones).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EXPORT_COLUMNS` under their display names; ``overdue_hours``
        rounded to whole hours; not yet formula-escaped (see :func:`export_tasks`).
    """
    check_lang(lang)
    t = tasks
    if "status" in t.columns:
        t = t[t["status"] == "open"]
    t = t.sort_values(["overdue_hours", "owner_id"], ascending=[False, True], kind="stable")
    out = t[[c for c in EXPORT_COLUMNS if c in t.columns]].copy()
    for c in _TRANSLATED:
        if c in out:
            out[c] = out[c].map(lambda v: label(v, lang)).astype("str")
    if "overdue_hours" in out:
        out["overdue_hours"] = out["overdue_hours"].round(0)
    if "due_at" in out:
        out["due_at"] = out["due_at"].dt.floor("min")
    # subject_id of the data model is an approval's customer; here it is what the task is about
    out = out.rename(columns={"subject_id": "task_subject"})
    return out.rename(columns=lambda c: label(c, lang)).reset_index(drop=True)


def export_tasks(tasks: pd.DataFrame, path: str | os.PathLike[str], *, lang: str = "zh") -> Path:
    """Write the open tasks to ``path`` (``.csv`` or ``.xlsx``), every text cell formula-safe.

    CSV is UTF-8 with a byte-order mark (Excel on Windows then reads Chinese correctly).
    ``.xlsx`` needs ``openpyxl`` (``pip install "salesml[excel]"``).

    Raises
    ------
    ValueError
        For another file extension.
    ImportError
        For ``.xlsx`` without openpyxl, saying what to install.
    """
    p = Path(path)
    sheet = safe_csv_frame(task_sheet(tasks, lang=lang))
    suffix = p.suffix.lower()
    if suffix == ".csv":
        sheet.to_csv(p, index=False, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise ImportError(
                'writing .xlsx needs openpyxl: pip install "salesml[excel]" (or write a .csv)'
            ) from None
        sheet.to_excel(p, index=False, sheet_name="followups", engine="openpyxl")
    else:
        raise ValueError(f"export {p.name}: write a .csv or an .xlsx file")
    return p
