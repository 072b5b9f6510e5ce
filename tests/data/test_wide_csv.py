"""Wide CSV files: typing extra columns in batches, same results as column by column.

Issue 10 item 4: 32k columns of a 1 MB file took 39 s. Three causes, each fixed:
a regular expression parsed and a ``to_numeric`` per column (``_type_extra``),
``DataFrame.assign`` of every typed column (each insert re-lays the frame: quadratic
in the width), and pandas' CSV reader building one text column at a time. The
timing lives in ``bench/bench_load.py --wide``; here the algorithmic property is
asserted instead: the number of vectorised calls does not grow with the width.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesml.data.io import load_dataset
from salesml.data.validate import ISO_DATE_RE
from salesml.data.validate.parse import type_extra_columns


def _oracle(s: pd.Series, hint: str | None) -> pd.Series:
    """The column-by-column typing of the previous release (salesml.data.io._type_extra)."""
    filled = s.notna()
    if hint is not None:
        h = hint.lower()
        try:
            if h.startswith("datetime64"):
                out = pd.to_datetime(s, format="ISO8601", errors="coerce").astype(hint)
            elif h in ("bool", "boolean"):
                out = s.str.lower().map({"true": True, "false": False}).astype("boolean")
                if h == "bool" and not out.isna().any():
                    out = out.astype("bool")
            elif h.startswith(("int", "uint", "float")) or h in ("Int64", "Float64"):
                out = pd.to_numeric(s, errors="coerce").astype(hint)
            else:
                return s.astype(hint) if h not in ("str", "string", "object") else s
        except (TypeError, ValueError):
            return s
        return out if not (filled & out.isna()).any() else s
    if not filled.any():
        return s
    vals = s[filled]
    if vals.str.fullmatch(ISO_DATE_RE).all():
        return pd.to_datetime(s, format="ISO8601").astype("datetime64[us]")
    num = pd.to_numeric(vals, errors="coerce")
    if num.notna().all():
        v = num.to_numpy(dtype="float64")
        if filled.all() and np.all(v == np.round(v)) and not vals.str.contains(r"[.eE]").any():
            return pd.to_numeric(s).astype("int64")
        return pd.to_numeric(s, errors="coerce").astype("float64")
    return s


CELLS = [
    None,
    "1",
    "-2",
    "3.5",
    "1e3",
    "007",
    "2025-01-01",
    "2025-01-01 10:00",
    "abc",
    "true",
    "FALSE",
    "9007199254740993",
    " 5",
    "inf",
]
HINTS = [
    None,
    None,
    "int64",
    "float64",
    "datetime64[us]",
    "bool",
    "boolean",
    "Int64",
    "str",
    "category",
]


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    n_rows=st.integers(0, 6),
    columns=st.lists(
        st.tuples(st.sampled_from(HINTS), st.lists(st.sampled_from(CELLS), min_size=6, max_size=6)),
        min_size=1,
        max_size=8,
    ),
)
def test_batched_typing_matches_column_by_column(n_rows, columns):
    df = pd.DataFrame(
        {f"c{i}": pd.Series(cells[:n_rows], dtype="str") for i, (_, cells) in enumerate(columns)}
    )
    hints = {f"c{i}": h for i, (h, _) in enumerate(columns) if h is not None}
    typed = type_extra_columns(df, list(df.columns), hints)
    for c in df.columns:
        try:
            want = _oracle(df[c], hints.get(c))
        except (TypeError, ValueError, OverflowError):
            continue  # the old code crashed here (inf, overflow): anything sensible will do
        got = typed[c] if c in typed.columns else df[c]
        pd.testing.assert_series_equal(got, want, check_names=False, obj=f"{c} {hints.get(c)}")


def _wide_csv(folder, n_extra: int, n_rows: int = 4) -> None:
    folder.mkdir()
    header = ["rep_id", "name", "team", "region", "role", "manager_id", "hired_at"]
    extra = [f"m{i}" for i in range(n_extra)]
    lines = [",".join(header + extra)]
    for r in range(n_rows):
        cells = [str((r * i) % 7) if i % 3 else f"t{i % 5}" for i in range(n_extra)]
        cells = [c if i % 4 else (c + ".5" if i % 3 else c) for i, c in enumerate(cells)]
        if r == 0:
            cells = [
                ("2025-01-0" + str(1 + i % 9)) if i % 11 == 0 else c for i, c in enumerate(cells)
            ]
        lines.append(",".join([f"R{r}", "王芳", "T1", "华东", "sales", "", "2024-01-01", *cells]))
    (folder / "reps.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_vectorised_calls_do_not_grow_with_the_number_of_columns(tmp_path, monkeypatch):
    counted = {
        (pd, "to_numeric"),
        (pd, "to_datetime"),
        (pc, "match_substring_regex"),
        (pd.DataFrame, "assign"),
        (pd.DataFrame, "insert"),
        (pd.DataFrame, "__setitem__"),
    }
    calls: dict[str, int] = {}

    def counting(owner, name):
        real = getattr(owner, name)

        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)

        return wrapper

    for owner, name in counted:
        monkeypatch.setattr(owner, name, counting(owner, name))
    seen = {}
    for width in (40, 2_000):
        _wide_csv(tmp_path / f"w{width}", width)
        calls.clear()
        data = load_dataset(tmp_path / f"w{width}", progress=False)
        assert data.reps.shape == (4, 7 + width) and data.validation.ok
        kinds = data.reps.dtypes.iloc[7:].astype(str).value_counts().to_dict()
        assert set(kinds) == {"int64", "float64", "str"}, kinds
        seen[width] = dict(calls)
    assert seen[40] == seen[2_000], seen
    assert seen[40].get("assign", 0) == 0 and seen[40].get("insert", 0) == 0


@pytest.mark.parametrize("n", [3, 300])
def test_wide_csv_keeps_column_order_and_types_each_column(tmp_path, n):
    _wide_csv(tmp_path / "w", n)
    reps = load_dataset(tmp_path / "w", progress=False).reps
    model = ["rep_id", "name", "team", "region", "role", "manager_id", "hired_at"]
    assert list(reps.columns) == model + [f"m{i}" for i in range(n)]  # order kept
    raw = pd.read_csv(
        tmp_path / "w" / "reps.csv", dtype="str", keep_default_na=False, na_values=[""]
    )
    for c in reps.columns[7:]:
        pd.testing.assert_series_equal(reps[c], _oracle(raw[c], None), check_names=False)
