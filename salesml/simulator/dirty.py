"""Faults that real CRM and ERP exports carry, injected at known rows.

:func:`inject_faults` turns a clean :class:`~salesml.data.bundle.SalesData` into what
an Excel export of it looks like (every cell a string, dates as text) and plants
faults at chosen rows: duplicated ids, typos in categories, dates in other formats,
negative amounts, numbers with units, orphan references, missing required values
and closing dates before opening dates. Each fault is listed with the validation
rule that must catch it, so tests can measure recall exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.schema import SPECS

__all__ = ["FAULT_PLAN", "inject_faults", "to_raw"]

#: (table, column, fault, rule) planted by :func:`inject_faults`.
FAULT_PLAN: tuple[tuple[str, str, str, str], ...] = (
    ("customers", "customer_id", "duplicate_id", "unique_key"),
    ("deals", "deal_id", "duplicate_id", "unique_key"),
    ("deals", "amount", "negative_amount", "non_negative"),
    ("deals", "amount", "number_with_text", "dtype"),
    ("deals", "created_at", "mixed_date_format", "date_format"),
    ("deals", "closed_at", "closed_before_created", "time_order"),
    ("deals", "rep_id", "orphan_reference", "foreign_key"),
    ("deals", "customer_id", "missing_value", "not_null"),
    ("activities", "activity_id", "duplicate_id", "unique_key"),
    ("activities", "kind", "category_typo", "allowed_values"),
    ("activities", "occurred_at", "mixed_date_format", "date_format"),
    ("activities", "customer_id", "orphan_reference", "foreign_key"),
    ("activities", "duration_min", "negative_amount", "non_negative"),
    ("quotes", "amount", "number_with_text", "dtype"),
    ("payments", "amount", "negative_amount", "non_negative"),
    ("payments", "contract_id", "orphan_reference", "foreign_key"),
    ("costs", "category", "category_typo", "allowed_values"),
    ("costs", "amount", "negative_amount", "non_negative"),
    ("costs", "incurred_at", "mixed_date_format", "date_format"),
    ("leads", "status", "category_typo", "allowed_values"),
)


def to_raw(df: pd.DataFrame) -> pd.DataFrame:
    """A table as an export holds it: every cell a string (``None`` when empty).

    Datetimes become ``YYYY-MM-DD HH:MM:SS``; numbers their shortest text.
    """
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            txt = s.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif pd.api.types.is_bool_dtype(s):
            txt = s.map({True: "true", False: "false"})
        elif pd.api.types.is_float_dtype(s):
            txt = s.map(lambda v: None if pd.isna(v) else f"{v:.10g}" if abs(v) < 1e15 else repr(v))
        else:
            txt = s.astype("str")
        out[c] = txt.astype(object).where(s.notna().to_numpy(), None)
    return pd.DataFrame(out)


def _typo(word: str) -> str:
    """A plausible typing slip: two neighbouring letters swapped, or one doubled."""
    if len(word) >= 4:
        i = len(word) // 2
        swapped = word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
        if swapped != word:
            return swapped
    return word + word[-1]


def _other_date_format(ts_text: str, i: int) -> str:
    ts = pd.Timestamp(ts_text)
    if i % 2 == 0:
        return f"{ts.year}年{ts.month}月{ts.day}日 {ts:%H:%M}"
    return f"{ts:%d/%m/%Y %H:%M}" if ts.day > 12 else f"{ts:%m.%d.%Y}"


def inject_faults(
    data: SalesData, *, seed: int = 0, rate: float = 0.002, min_per_fault: int = 3
) -> tuple[SalesData, pd.DataFrame]:
    """Plant the faults of :data:`FAULT_PLAN` into a raw copy of ``data``.

    Parameters
    ----------
    data
        A clean bundle (for example from :func:`salesml.simulate`).
    seed
        Random seed for the choice of rows.
    rate
        Share of a table's rows that get each fault.
    min_per_fault
        At least this many rows per planted fault.

    Returns
    -------
    (SalesData, pandas.DataFrame)
        The raw bundle (string cells) and the faults: ``table, row, column, fault,
        rule, value`` with ``row`` the 0-based position in the raw table.
    """
    rng = np.random.default_rng([seed, 99])
    raw = {name: to_raw(df) for name, df in data.tables.items()}
    records: list[dict[str, object]] = []
    dup_src: dict[str, list[int]] = {}
    used: dict[str, set[int]] = {name: set() for name in raw}
    for table, column, fault, rule in FAULT_PLAN:
        if table not in raw:
            continue
        df = raw[table]
        n = len(df)
        eligible = np.ones(n, dtype=bool)
        if used[table]:
            eligible[list(used[table])] = False
        if fault == "closed_before_created":
            eligible &= df["closed_at"].notna().to_numpy()
        if column in df and fault != "duplicate_id":
            eligible &= df[column].notna().to_numpy()
        cand = np.flatnonzero(eligible)
        k = min(len(cand), max(min_per_fault, round(rate * n)))
        rows = np.sort(rng.choice(cand, size=k, replace=False)) if k else np.array([], int)
        used[table].update(rows.tolist())
        col_pos = df.columns.get_loc(column)
        for j, r in enumerate(rows):
            old = df.iat[r, col_pos]
            if fault == "duplicate_id":
                dup_src.setdefault(table, []).append(int(r))
                continue
            if fault == "negative_amount":
                new = "-" + str(old).lstrip("-")
                if new == "-0":
                    new = "-1"
            elif fault == "number_with_text":
                new = f"约{old}元"
            elif fault == "mixed_date_format":
                new = _other_date_format(str(old), j)
            elif fault == "closed_before_created":
                new = (pd.Timestamp(df.at[r, "created_at"]) - pd.Timedelta(days=3)).strftime(
                    "%Y-%m-%d %H:%M:%S"
                )
            elif fault == "orphan_reference":
                new = f"{str(old)[:1]}X{rng.integers(10**5, 10**6)}"
            elif fault == "missing_value":
                new = None
            elif fault == "category_typo":
                new = _typo(str(old))
            else:  # pragma: no cover - the plan above is closed
                raise AssertionError(fault)
            df.iat[r, col_pos] = new
            records.append(
                {
                    "table": table,
                    "orig": int(r),
                    "dup": False,
                    "column": column,
                    "fault": fault,
                    "rule": rule,
                    "value": new,
                }
            )
    # duplicates: a copy of a clean row placed right after it
    for table, srcs in dup_src.items():
        df = raw[table]
        key = SPECS[table].key[0]
        order_key = np.concatenate([np.arange(len(df), dtype=float), np.asarray(srcs) + 0.5])
        combined = pd.concat([df, df.iloc[srcs]], ignore_index=True)
        order = np.argsort(order_key, kind="stable")
        final_pos = np.empty(len(order), dtype=int)
        final_pos[order] = np.arange(len(order))
        raw[table] = combined.iloc[order].reset_index(drop=True)
        for rec in records:
            if rec["table"] == table:
                rec["orig"] = int(final_pos[rec["orig"]])
        for i, s in enumerate(srcs):
            records.append(
                {
                    "table": table,
                    "orig": int(final_pos[len(df) + i]),
                    "dup": True,
                    "column": key,
                    "fault": "duplicate_id",
                    "rule": "unique_key",
                    "value": df.at[s, key],
                }
            )
    faults = pd.DataFrame(
        records, columns=["table", "orig", "dup", "column", "fault", "rule", "value"]
    )
    faults = faults.rename(columns={"orig": "row"}).drop(columns="dup")
    faults = faults.sort_values(["table", "row"], kind="stable").reset_index(drop=True)
    return SalesData(raw, data.config, source=data.source), faults
