"""CSV the package writes is safe to open in a spreadsheet, and reads back exactly.

Issue 10 item 4: the quarantine CSV wrote cells beginning with ``= + - @`` as they
were, so a value typed into a CRM ran as a formula when a manager opened the file.
"""

from __future__ import annotations

import csv
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesml.cli import main
from salesml.data.bundle import SalesData
from salesml.data.csvsafe import restore_csv_frame, safe_csv_frame
from salesml.data.io import load_dataset, save_dataset

PLAIN = re.compile(r"[+\-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+\-]?\d+)?")
ATTACKS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def test_formula_cells_are_neutralised_numbers_and_text_are_not():
    df = pd.DataFrame(
        {
            "text": pd.Series([*ATTACKS, "-12.5", "+86", "ok", None], dtype="str"),
            "amount": [-1.0] * 10,
            "mixed": [*ATTACKS, -3, "=x", "ok", None],
        }
    )
    out = safe_csv_frame(df)
    assert out["text"].tolist()[:6] == ["'" + a for a in ATTACKS]
    assert out["text"].tolist()[6:9] == ["-12.5", "+86", "ok"] and pd.isna(out["text"].iloc[9])
    assert (out["amount"] == -1.0).all()  # numbers are written as numbers
    assert out["mixed"].tolist()[:8] == [*("'" + a for a in ATTACKS), -3, "'=x"]
    assert df["text"].iloc[0] == ATTACKS[0]  # the input is not modified
    pd.testing.assert_frame_equal(restore_csv_frame(out.astype({"mixed": object})), df)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=8), st.sampled_from([*ATTACKS, "'=x", "''-1"])))
)
def test_escaping_is_exactly_reversible(values):
    df = pd.DataFrame({"c": pd.Series(values, dtype="str")})
    safe = safe_csv_frame(df)
    for v in safe["c"].dropna():  # what a spreadsheet would run is only a plain number
        assert not v.startswith(("=", "+", "-", "@", "\t", "\r")) or PLAIN.fullmatch(v), v
    pd.testing.assert_frame_equal(restore_csv_frame(safe), df)


def test_quarantine_csv_from_the_cli_is_neutralised(small_data, tmp_path):
    deals = small_data.deals.copy()
    deals.loc[1, "deal_id"] = '=HYPERLINK("http://evil.example","click")'
    deals.loc[1, "amount"] = -5.0
    folder = save_dataset(SalesData({"deals": deals}), tmp_path / "d", format="csv")
    # a dirty export written by someone else: the formula is in the file as it is
    raw = (folder / "deals.csv").read_text(encoding="utf-8").replace("'=HYPER", "=HYPER")
    (folder / "deals.csv").write_text(raw.replace("-5.0", "=1+1"), encoding="utf-8")
    (folder / "dataset.yaml").write_text("encoding: utf-8\n", encoding="utf-8")
    qfile = tmp_path / "q.csv"
    assert main(["validate", str(folder), "--quarantine-out", str(qfile), "--allow-rejects"]) == 0
    with qfile.open(encoding="utf-8-sig", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@")]
    assert "'=1+1" in cells and any(c.startswith("'=HYPERLINK") for c in cells)
    assert (
        main(
            [
                "validate",
                str(folder),
                "--quarantine-out",
                str(tmp_path / "q.parquet"),
                "--allow-rejects",
            ]
        )
        == 0
    )
    assert "=1+1" in set(pd.read_parquet(tmp_path / "q.parquet")["value"])  # Parquet keeps values


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_dataset_csv_is_escaped_on_disk_and_identical_after_loading(small_data, tmp_path, encoding):
    reps = small_data.reps.copy()
    reps.loc[0, "name"] = "=cmd|' /C calc'!A0"
    reps.loc[1, "name"] = "'=already quoted"
    reps.loc[2, "team"] = "-T2+"
    data = SalesData({"reps": reps}, small_data.config)
    folder = save_dataset(data, tmp_path / "x", format="csv", encoding=encoding)
    text = (folder / "reps.csv").read_text(encoding=encoding)
    assert "'=cmd|" in text and "''=already quoted" in text and "'-T2+" in text
    assert "csv_formulas: escaped" in (folder / "dataset.yaml").read_text(encoding="utf-8")
    pd.testing.assert_frame_equal(load_dataset(folder, progress=False).reps, reps)
